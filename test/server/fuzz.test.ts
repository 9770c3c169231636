// Bounded protocol fuzzing (seeded, a few hundred cases, well under 30 s):
// random and mutated client input must never crash the server or disturb a
// bystander connection, and Tern must answer like nats-server: the same -ERR
// texts, the same close/stay-open outcome.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, serverKinds, type RunningServer, type ServerKind } from '../helpers/servers.js';
import { errs, RawClient } from './raw.js';
import { prng } from '../helpers/prng.js';


const SEEDS = [
  'SUB $S 1\r\n',
  'SUB $S.* q 2\r\n',
  'UNSUB 1\r\n',
  'UNSUB 1 5\r\n',
  'PUB $S 5\r\nhello\r\n',
  'PUB $S reply 0\r\n\r\n',
  'HPUB $S 12 14\r\nNATS/1.0\r\n\r\nhi\r\n',
  'HPUB $S r 22 24\r\nNATS/1.0\r\nA: bcdefg\r\n\r\nhi\r\n',
  'PING\r\n',
  'PONG\r\n',
  '+OK\r\n',
  'INFO {}\r\n',
  'CONNECT {"verbose":false}\r\n',
  'CONNECT {"echo":false,"headers":true}\r\n',
];
const ALPHABET = 'PUBSHMINGOKCET+-> *.\r\n\t 0123456789{}":,abcxyz';

function mutate(rand: () => number, s: string): string {
  let b = s;
  const n = 1 + Math.floor(rand() * 3);
  for (let k = 0; k < n; k++) {
    const pos = Math.floor(rand() * (b.length + 1));
    const ch = ALPHABET[Math.floor(rand() * ALPHABET.length)]!;
    switch (Math.floor(rand() * 6)) {
      case 0: // replace a byte
        b = b.slice(0, pos) + ch + b.slice(pos + 1);
        break;
      case 1: // insert
        b = b.slice(0, pos) + ch + b.slice(pos);
        break;
      case 2: // delete
        b = b.slice(0, pos) + b.slice(pos + 1);
        break;
      case 3: // flip case
        b = b.slice(0, pos) + (b[pos] ?? '').toLowerCase() + b.slice(pos + 1);
        break;
      case 4: // change a number
        b = b.replace(/\d+/, String(Math.floor(rand() * 30)));
        break;
      default: // duplicate a slice
        b = b.slice(0, pos) + b.slice(pos, pos + 6) + b.slice(pos);
    }
  }
  return b;
}

function makeCases(count: number, seed: number): string[] {
  const rand = prng(seed);
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    const r = rand();
    if (r < 0.15) {
      let s = '';
      const len = 1 + Math.floor(rand() * 40);
      for (let k = 0; k < len; k++) s += ALPHABET[Math.floor(rand() * ALPHABET.length)];
      out.push(s);
    } else {
      let s = '';
      const parts = 1 + Math.floor(rand() * 3);
      for (let k = 0; k < parts; k++) s += SEEDS[Math.floor(rand() * SEEDS.length)];
      out.push(mutate(rand, s));
    }
  }
  return out;
}

interface Outcome {
  errs: string[];
  state: 'closed' | 'open' | 'stuck';
}

/** How long a connection may stay silent before it counts as stuck (waiting for more input). */
const STUCK_MS = 1500;

const pongs = (d: string): number => d.split('PONG\r\n').length - 1;

/** Each case gets its own subject so concurrent cases never see each other's messages. */
async function runCase(port: number, input: string, id: number): Promise<Outcome> {
  const c = await RawClient.ready(port, { headers: true });
  c.write(input.replaceAll('$S', `fz${id}`));
  c.write('PING\r\n');
  const state = await settle(c);
  c.close();
  return { errs: errs(c.data), state };
}

/**
 * The state the input left the connection in. The first PONG may answer a PING
 * inside the input, with a close still to follow: so ask once more and wait for
 * a further PONG (in sync) or the close. No fixed grace period, so a loaded
 * machine changes only how long this takes, not the outcome.
 */
async function settle(c: RawClient): Promise<Outcome['state']> {
  for (const extraPing of [false, true]) {
    const seen = pongs(c.data);
    if (extraPing) c.write('PING\r\n');
    try {
      await c.waitFor((d) => pongs(d) > (extraPing ? seen : 0), STUCK_MS);
    } catch {
      return c.closed ? 'closed' : 'stuck';
    }
  }
  return 'open';
}

async function runAll(srv: RunningServer, cases: string[]): Promise<Outcome[]> {
  const out: Outcome[] = new Array<Outcome>(cases.length);
  // Stuck cases wait STUCK_MS each; large batches keep the total bounded.
  const BATCH = 100;
  for (let i = 0; i < cases.length; i += BATCH) {
    await Promise.all(
      cases.slice(i, i + BATCH).map(async (input, k) => {
        out[i + k] = await runCase(srv.port, input, i + k);
      }),
    );
  }
  return out;
}

describe('protocol fuzz', () => {
  const cases = makeCases(300, 0x7e4e);
  const results = new Map<ServerKind, Outcome[]>();
  const servers = new Map<ServerKind, RunningServer>();

  before(async () => {
    for (const kind of serverKinds()) servers.set(kind, await startServer(kind));
  });
  after(async () => {
    for (const s of servers.values()) await s.stop();
  });

  for (const kind of serverKinds()) {
    it(`${kind}: never crashes, bystander unaffected`, async () => {
      const srv = servers.get(kind)!;
      const bystander = await RawClient.ready(srv.port);
      bystander.write('SUB fuzz.bystander 1\r\nPING\r\n');
      await bystander.waitFor((d) => d.includes('PONG'));
      const control = await RawClient.ready(srv.port);
      results.set(kind, await runAll(srv, cases));
      control.write('PUB fuzz.bystander 2\r\nok\r\n');
      await bystander.waitFor((d) => d.includes('MSG fuzz.bystander 1 2\r\nok\r\n'));
      assert.equal(await bystander.alive(), true);
      assert.equal(srv.proc.exitCode, null);
      // Bystander saw nothing but its own traffic.
      assert.equal(errs(bystander.data).length, 0);
      bystander.close();
      control.close();
    });
  }

  it('Tern answers like nats-server', { skip: !serverKinds().includes('nats-server') }, () => {
    const t = results.get('tern')!;
    const n = results.get('nats-server')!;
    const diffs: string[] = [];
    for (let i = 0; i < cases.length; i++) {
      if (JSON.stringify(t[i]) !== JSON.stringify(n[i])) {
        diffs.push(`${JSON.stringify(cases[i])}: tern ${JSON.stringify(t[i])} nats-server ${JSON.stringify(n[i])}`);
      }
    }
    assert.deepEqual(diffs, []);
  });
});
