// Start-up checks against the target, before any source is consumed: every stream target
// exists, captures every subject its mapping can produce, and de-duplicates over at least
// the redelivery horizon. Failures are collected and reported together.
import { jetstreamManager, type StreamInfo } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from './log.js';
import type { Mapping } from './mapping.js';
import { patternCovers } from './subject.js';

export class PreflightError extends Error {
  override name = 'PreflightError';
  constructor(readonly problems: readonly string[]) {
    super(`preflight failed:\n  - ${problems.join('\n  - ')}`);
  }
}

export async function preflight(nc: NatsConnection, mappings: readonly Mapping[], horizonMs: number, log: Logger): Promise<void> {
  const problems: string[] = [];
  const jsm = await jetstreamManager(nc, { timeout: 5000 });
  const infos = new Map<string, StreamInfo | Error>();
  const info = async (name: string): Promise<StreamInfo | Error> => {
    if (!infos.has(name)) infos.set(name, await jsm.streams.info(name).catch((e: Error) => e));
    return infos.get(name)!;
  };
  const checkStream = async (m: Mapping, field: string, stream: string, patterns: readonly (string | undefined)[]): Promise<void> => {
    const where = `${m.file}: mapping "${m.name}": ${field}`;
    const si = await info(stream);
    if (si instanceof Error) {
      problems.push(`${where}: stream "${stream}" is not available on the target: ${si.message}`);
      return;
    }
    const subjects = si.config.subjects ?? [];
    for (const p of patterns) {
      if (p === undefined) {
        log.warn('subject template cannot be checked statically against the stream; messages outside it are dead-lettered', { mapping: m.name, stream });
        continue;
      }
      if (!subjects.some((s) => patternCovers(s, p))) {
        problems.push(`${where}: stream "${stream}" (subjects ${JSON.stringify(subjects)}) does not capture "${p}"; add it to the stream's subjects or change the mapping`);
      }
    }
    const windowMs = si.config.duplicate_window / 1e6;
    if (windowMs < horizonMs) {
      problems.push(`${where}: stream "${stream}" duplicate_window is ${windowMs} ms, shorter than the redelivery horizon ${horizonMs} ms (preflight.redeliveryHorizonMs): a redelivery after a crash could be stored twice; raise duplicate_window`);
    }
  };
  for (const m of mappings) {
    if (m.stream !== undefined) await checkStream(m, 'target.stream', m.stream, m.subjectPatterns);
    else log.warn('mapping targets core NATS subjects: delivery is at-most-once (confirmed by flush only, no PubAck, no dedup)', { mapping: m.name, guarantee: 'at-most-once' });
    if (m.deadLetterStream !== undefined) await checkStream(m, 'deadLetter.stream', m.deadLetterStream, [m.deadLetterSubject]);
    else log.warn('dead-letter subject has no stream: dead letters are at-most-once', { mapping: m.name, subject: m.deadLetterSubject });
  }
  if (problems.length > 0) throw new PreflightError(problems);
}
