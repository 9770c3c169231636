// `tern bridge plan`: what the bridge would declare and where sample messages would go,
// without connecting to anything.
import type { BridgeConfig } from './config.js';
import type { ConnectionEntry, Mapping } from './mapping.js';
import { MissingTokenError, renderTemplate } from './template.js';
import type { HeaderEntry, MessageTokens } from './connector.js';

export interface Sample {
  readonly tokens: MessageTokens;
  readonly headers?: Readonly<Record<string, string>>;
}

export function renderPlan(config: BridgeConfig, mappings: readonly Mapping[], connections: ReadonlyMap<string, ConnectionEntry>, sample?: Sample): string {
  const out: string[] = [];
  out.push(`target: ${config.target.servers.join(', ')}`);
  out.push(`window ${config.window}, retry ${config.retry.maxAttempts} attempts, redelivery horizon ${config.preflight.redeliveryHorizonMs} ms`);
  for (const m of mappings) {
    const conn = connections.get(m.connectionName)!;
    out.push('');
    out.push(`mapping "${m.name}" (${m.file}, ${m.connector.kind} connection "${m.connectionName}")`);
    const ctx = {
      connectionName: m.connectionName,
      connection: conn.value,
      source: m.source,
      mappingName: m.name,
      parking: m.parking,
      options: { window: config.window, reconnect: config.reconnect, failFast: true },
    };
    for (const line of m.connector.plan(ctx)) out.push(`  source: ${line}`);
    const guarantee = m.stream !== undefined ? `JetStream stream "${m.stream}" (at-least-once, PubAck)` : 'core NATS (at-most-once: flush only)';
    out.push(`  target: subject "${m.subject.source}" -> ${guarantee}`);
    for (const p of m.subjectPatterns) out.push(`  subjects: ${p ?? '(not expressible as one pattern)'}`);
    out.push(`  dedup: Nats-Msg-Id = ${m.dedupKey ? `"${m.dedupKey.source}"` : 'none'}; when missing: ${m.dedupMissing.kind === 'header' ? `header ${m.dedupMissing.name}` : m.dedupMissing.kind}`);
    out.push(`  dead letters: "${m.deadLetterSubject}"${m.deadLetterStream ? ` (stream "${m.deadLetterStream}")` : ' (core)'} after ${m.retry.maxAttempts} rejected attempts`);
    const samples: Sample[] = sample ? [sample] : m.connector.sampleTokens(m.source).map((tokens) => ({ tokens }));
    for (const s of samples) {
      const headers: HeaderEntry[] = Object.entries(s.headers ?? {});
      const where = (() => {
        try {
          const subject = renderTemplate(m.subject, s.tokens, headers, true);
          let id = 'none';
          if (m.dedupKey) {
            try {
              id = renderTemplate(m.dedupKey, s.tokens, headers, false);
            } catch (e) {
              if (!(e instanceof MissingTokenError)) throw e;
              id = `(${e.message}; policy ${m.dedupMissing.kind})`;
            }
          }
          return `-> "${subject}" Nats-Msg-Id ${id}`;
        } catch (e) {
          if (!(e instanceof MissingTokenError)) throw e;
          return `-> dead letter "${m.deadLetterSubject}" (${e.message})`;
        }
      })();
      out.push(`  sample ${JSON.stringify(s.tokens)} ${where}`);
    }
  }
  return out.join('\n') + '\n';
}
