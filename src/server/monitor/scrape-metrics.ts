// Metrics whose value is read at scrape time (prom-client collect callbacks):
// the server keeps plain counters and nothing here runs per message. Shared by
// the core /metrics registry and the tern_jetstream_* metrics.
import { Counter, Gauge, type Registry } from 'prom-client';

/** A counter set to `read()` on every scrape; `undefined` leaves it at 0 (the source is not running). */
export function scrapedCounter(registry: Registry, name: string, help: string, read: () => number | undefined): void {
  new Counter({
    name,
    help,
    registers: [registry],
    collect() {
      this.reset();
      const v = read();
      if (v !== undefined) this.inc(v);
    },
  });
}

/** A gauge set to `read()` on every scrape. */
export function scrapedGauge(registry: Registry, name: string, help: string, read: () => number): void {
  new Gauge({
    name,
    help,
    registers: [registry],
    collect() {
      this.set(read());
    },
  });
}
