// Markdown tables of a CompareReport, ready to paste into BENCHMARKS.md.
import type { CompareReport, PatternResult, SideSummary } from './compare.js';
import type { Summary } from './stats.js';

const fmtRate = (v: number): string =>
  !Number.isFinite(v) ? '—' : v >= 999_950 ? `${(v / 1e6).toFixed(2)} M` : v >= 1e3 ? `${(v / 1e3).toFixed(1)} k` : v.toFixed(0);

function rateCell(s: Summary, failures: number): string {
  if (s.n === 0) return `FAILED (${failures})`;
  const iqr = s.n > 1 ? ` (IQR ${fmtRate(s.q1)}–${fmtRate(s.q3)})` : '';
  const failed = failures > 0 ? `, ${failures} failed` : '';
  return `${fmtRate(s.median)}${iqr}${failed}`;
}

const fmtUs = (v: number, digits = 3): string => (Number.isFinite(v) ? v.toFixed(digits) : '—');
const fmtRatio = (v: number): string => (Number.isFinite(v) ? `${v.toFixed(2)}×` : '—');
const mib = (kb: number): string => (Number.isFinite(kb) ? `${(kb / 1024).toFixed(1)} MiB` : '—');

function latencyCell(side: SideSummary): string {
  if (!side.latency || side.latency.p50us.n === 0) return `FAILED (${side.failures})`;
  const l = side.latency;
  return `${l.p50us.median.toFixed(0)} / ${l.p90us.median.toFixed(0)} / ${l.p99us.median.toFixed(0)}`;
}

export function throughputTable(patterns: PatternResult[]): string {
  const rows = patterns.filter((p) => p.metric !== 'latency');
  if (rows.length === 0) return '';
  const lines = [
    '| pattern | Tern msgs/s (median, IQR) | nats-server msgs/s (median, IQR) | Tern / nats-server | CPU µs/msg Tern | CPU µs/msg nats-server | CPU ratio |',
    '|---|---|---|---|---|---|---|',
  ];
  for (const p of rows) {
    lines.push(
      `| ${p.title} | ${rateCell(p.tern.rate, p.tern.failures)} | ${rateCell(p.nats.rate, p.nats.failures)} | ` +
        `${fmtRatio(p.rateRatio)} | ${fmtUs(p.tern.cpuUsPerMsg.median)} | ${fmtUs(p.nats.cpuUsPerMsg.median)} | ${fmtRatio(p.cpuRatio)} |`,
    );
  }
  return lines.join('\n');
}

export function latencyTable(patterns: PatternResult[]): string {
  const rows = patterns.filter((p) => p.metric === 'latency');
  if (rows.length === 0) return '';
  const lines = [
    '| pattern | Tern p50 / p90 / p99 µs | nats-server p50 / p90 / p99 µs | p50 ratio | p99 ratio | Tern req/s | nats-server req/s | CPU µs/req Tern | CPU µs/req nats-server |',
    '|---|---|---|---|---|---|---|---|---|',
  ];
  for (const p of rows) {
    lines.push(
      `| ${p.title} | ${latencyCell(p.tern)} | ${latencyCell(p.nats)} | ${fmtRatio(p.p50Ratio ?? NaN)} | ${fmtRatio(p.p99Ratio ?? NaN)} | ` +
        `${fmtRate(p.tern.rate.median)} | ${fmtRate(p.nats.rate.median)} | ` +
        // work() counts two messages per request; per request is twice per message.
        `${fmtUs(2 * p.tern.cpuUsPerMsg.median, 1)} | ${fmtUs(2 * p.nats.cpuUsPerMsg.median, 1)} |`,
    );
  }
  return lines.join('\n');
}

export function resourceTable(r: CompareReport): string {
  if (!r.startup && !r.memory) return '';
  const lines = ['| measure | Tern | nats-server |', '|---|---|---|'];
  if (r.startup) {
    const s = r.startup;
    lines.push(
      `| start-to-ready (spawn → INFO on a client socket), median of ${s.samples.tern.length} | ${s.readyMs.tern.median.toFixed(0)} ms | ${s.readyMs['nats-server'].median.toFixed(0)} ms |`,
    );
    lines.push(`| idle RSS after start | ${mib(s.idleRssKb.tern.median)} | ${mib(s.idleRssKb['nats-server'].median)} |`);
  }
  if (r.memory) {
    const m = r.memory;
    lines.push(`| RSS with ${m.connections.toLocaleString('en-US')} idle connections | ${mib(m.loadedRssKb.tern)} | ${mib(m.loadedRssKb['nats-server'])} |`);
    lines.push(
      `| RSS per idle connection | ${fmtUs(m.perConnectionKb.tern, 1)} KiB | ${fmtUs(m.perConnectionKb['nats-server'], 1)} KiB |`,
    );
  }
  for (const p of r.patterns) {
    lines.push(`| peak RSS, ${p.title} | ${mib(p.tern.peakRssKb.median)} | ${mib(p.nats.peakRssKb.median)} |`);
  }
  return lines.join('\n');
}

export function renderMarkdown(r: CompareReport): string {
  const m = r.meta;
  const parts = [
    `Run ${m.date}, Tern ${m.ternCommit}, ${m.natsServerVersion}, Node ${m.node}, ${m.cpus} CPUs, ` +
      `${m.rounds} round(s)${m.quick ? ' (--quick)' : ''}, ${m.pinned ? 'pinned (server cpu1, client cpu0)' : 'unpinned'}, ` +
      `load average ${m.loadavgBefore.map((x) => x.toFixed(2)).join(' ')} before / ${m.loadavgAfter.map((x) => x.toFixed(2)).join(' ')} after, ` +
      `CPU steal ${m.stealPercent.toFixed(1)} %.`,
    `Command: \`${m.commandLine}\``,
    throughputTable(r.patterns),
    latencyTable(r.patterns),
    resourceTable(r),
  ];
  if (r.failures.length > 0) parts.push(`**Failed runs (not counted):**\n${r.failures.map((f) => `- ${f.replace(/\n/g, ' ')}`).join('\n')}`);
  return parts.filter((s) => s.length > 0).join('\n\n') + '\n';
}
