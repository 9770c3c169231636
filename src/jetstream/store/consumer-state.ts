// Durable consumer state: what a consumer must remember across restarts to
// keep at-least-once delivery — how far it delivered, its ack floor, which
// messages await an ack (with delivery counts and when they were delivered).
// One small JSON file per consumer, replaced atomically (temp + rename), so a
// crash mid-write keeps the previous state. Saves are coalesced: while one
// write is in flight only the newest requested state is written next.

import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic, writeFileAtomicSync } from './atomic-file.js';

export interface SequencePair {
  consumer_seq: number;
  stream_seq: number;
}

export interface PendingAck {
  /** Consumer sequence of the (latest) delivery. */
  consumer_seq: number;
  /** When it was last delivered, ms since the epoch (drives ack_wait redelivery). */
  timestamp: number;
  /** How many times it has been delivered (1 = once). */
  deliveries: number;
}

export interface ConsumerState {
  delivered: SequencePair;
  ack_floor: SequencePair;
  /** stream seq -> pending ack. */
  pending: Map<number, PendingAck>;
  /** stream seq -> delivery count, for messages delivered more than once and not yet acked. */
  redelivered: Map<number, number>;
}

export function emptyConsumerState(): ConsumerState {
  return {
    delivered: { consumer_seq: 0, stream_seq: 0 },
    ack_floor: { consumer_seq: 0, stream_seq: 0 },
    pending: new Map(),
    redelivered: new Map(),
  };
}

const FORMAT_VERSION = 1;
const STATE_FILE = 'state.json';

interface StateJson {
  version: number;
  delivered: SequencePair;
  ack_floor: SequencePair;
  /** [stream_seq, consumer_seq, timestamp, deliveries] */
  pending: [number, number, number, number][];
  /** [stream_seq, count] */
  redelivered: [number, number][];
}

export class ConsumerStateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConsumerStateError';
  }
}

export function encodeConsumerState(s: ConsumerState): string {
  const json: StateJson = {
    version: FORMAT_VERSION,
    delivered: { consumer_seq: s.delivered.consumer_seq, stream_seq: s.delivered.stream_seq },
    ack_floor: { consumer_seq: s.ack_floor.consumer_seq, stream_seq: s.ack_floor.stream_seq },
    pending: [...s.pending].map(([sseq, p]) => [sseq, p.consumer_seq, p.timestamp, p.deliveries]),
    redelivered: [...s.redelivered],
  };
  return JSON.stringify(json);
}

export function decodeConsumerState(text: string, source = 'consumer state'): ConsumerState {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    throw new ConsumerStateError(`${source}: invalid JSON: ${(err as Error).message}`);
  }
  const j = v as Partial<StateJson>;
  if (typeof v !== 'object' || v === null || j.version !== FORMAT_VERSION) {
    throw new ConsumerStateError(`${source}: unsupported format (version ${String(j?.version)})`);
  }
  const pair = (p: unknown, name: string): SequencePair => {
    const q = p as Partial<SequencePair> | undefined;
    if (!isSeq(q?.consumer_seq) || !isSeq(q?.stream_seq)) throw new ConsumerStateError(`${source}: bad ${name}`);
    return { consumer_seq: q.consumer_seq, stream_seq: q.stream_seq };
  };
  if (!Array.isArray(j.pending) || !Array.isArray(j.redelivered)) throw new ConsumerStateError(`${source}: bad pending/redelivered`);
  const pending = new Map<number, PendingAck>();
  for (const row of j.pending) {
    if (!Array.isArray(row) || row.length !== 4 || !row.every(isSeq)) throw new ConsumerStateError(`${source}: bad pending entry`);
    pending.set(row[0], { consumer_seq: row[1], timestamp: row[2], deliveries: row[3] });
  }
  const redelivered = new Map<number, number>();
  for (const row of j.redelivered) {
    if (!Array.isArray(row) || row.length !== 2 || !row.every(isSeq)) throw new ConsumerStateError(`${source}: bad redelivered entry`);
    redelivered.set(row[0], row[1]);
  }
  return { delivered: pair(j.delivered, 'delivered'), ack_floor: pair(j.ack_floor, 'ack_floor'), pending, redelivered };
}

function isSeq(x: unknown): x is number {
  return typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
}

export interface ConsumerStateFileOptions {
  /** fsync each save (file + directory). Default true; false leaves it to the OS. */
  durable?: boolean;
}

/** The state file of one consumer, in its own directory. */
export class ConsumerStateFile {
  readonly dir: string;
  readonly path: string;
  private readonly durable: boolean;
  private inFlight: Promise<void> | undefined;
  private next: string | undefined;
  private nextWaiters: { resolve: () => void; reject: (e: Error) => void }[] = [];

  constructor(dir: string, opts: ConsumerStateFileOptions = {}) {
    this.dir = dir;
    this.path = join(dir, STATE_FILE);
    this.durable = opts.durable ?? true;
  }

  /** The saved state, or undefined if none was ever saved. Throws ConsumerStateError if the file is damaged. */
  load(): ConsumerState | undefined {
    if (!existsSync(this.path)) return undefined;
    return decodeConsumerState(readFileSync(this.path, 'utf8'), this.path);
  }

  saveSync(state: ConsumerState): void {
    mkdirSync(this.dir, { recursive: true });
    writeFileAtomicSync(this.path, encodeConsumerState(state), this.durable);
  }

  /**
   * Save a snapshot of state (taken now). Resolves once a write containing this
   * state or a newer one is complete.
   */
  save(state: ConsumerState): Promise<void> {
    this.next = encodeConsumerState(state);
    const p = new Promise<void>((resolve, reject) => this.nextWaiters.push({ resolve, reject }));
    if (this.inFlight === undefined) this.inFlight = this.drain();
    return p;
  }

  /** Resolves when no save is in flight. */
  async idle(): Promise<void> {
    while (this.inFlight !== undefined) await this.inFlight;
  }

  async delete(): Promise<void> {
    await this.idle();
    rmSync(this.dir, { recursive: true, force: true });
  }

  private async drain(): Promise<void> {
    try {
      while (this.next !== undefined) {
        const text = this.next;
        const waiters = this.nextWaiters;
        this.next = undefined;
        this.nextWaiters = [];
        try {
          mkdirSync(this.dir, { recursive: true });
          await writeFileAtomic(this.path, text, this.durable);
          for (const w of waiters) w.resolve();
        } catch (err) {
          const e = err instanceof Error ? err : new Error(String(err));
          for (const w of waiters) w.reject(e);
        }
      }
    } finally {
      this.inFlight = undefined;
    }
  }
}
