// The storage contract under a JetStream stream: what the stream/API layer may
// ask of a message store, whichever medium holds the bytes.
//
// Sequences are positive integers (JS numbers; exact up to 2^53). Timestamps are
// nanoseconds since the Unix epoch as bigint, because a double cannot hold
// today's time in ns exactly and the wire (ack subjects, RFC3339Nano) wants ns.

/** One stored message as returned by load*(). Buffers are read-only views. */
export interface StoredMessage {
  subject: string;
  seq: number;
  /** Raw NATS header block (`NATS/1.0\r\n...\r\n\r\n`), or null when the message had none. */
  hdr: Buffer | null;
  data: Buffer;
  /** Store time, ns since the epoch. */
  time: bigint;
}

export type DiscardPolicy = 'old' | 'new';

/**
 * Limits the store enforces on every store() and in the background (max_age).
 * Keys and units are those of StreamConfig on the wire so that a stream config
 * can be passed as is: -1 (or 0 for max_age) means unlimited, max_age is ns.
 */
export interface StoreLimits {
  max_msgs: number;
  max_bytes: number;
  /** ns; 0 = no age limit. */
  max_age: number;
  max_msgs_per_subject: number;
  /** Limit on len(hdr)+len(data); -1 = unlimited. */
  max_msg_size: number;
  discard: DiscardPolicy;
  /** With discard new: refuse a message whose subject is at max_msgs_per_subject (instead of dropping its oldest). */
  discard_new_per_subject?: boolean;
}

export const UNLIMITED: StoreLimits = {
  max_msgs: -1,
  max_bytes: -1,
  max_age: 0,
  max_msgs_per_subject: -1,
  max_msg_size: -1,
  discard: 'old',
};

/** Stream state as the store knows it; consumer_count is the API's business. */
export interface StoreState {
  messages: number;
  bytes: number;
  first_seq: number;
  /** ns; 0n when the store is empty. */
  first_ts: bigint;
  last_seq: number;
  /** ns; 0n when nothing was ever stored. */
  last_ts: bigint;
  num_subjects: number;
  /** Sequences between first_seq and last_seq that are gone (interior deletes). */
  num_deleted: number;
}

export interface PurgeOptions {
  /** Only messages whose subject matches this filter (wildcards allowed). */
  filter?: string;
  /** Purge messages with a sequence lower than this one (exclusive upper bound). */
  seq?: number;
  /** Keep this many of the newest (matching) messages. */
  keep?: number;
}

export interface StoreResult {
  seq: number;
  ts: bigint;
}

/** Called after every change: +1 on store, -1 per removal (bulk removals report once with seq 0). */
export type StorageUpdateListener = (msgsDelta: number, bytesDelta: number, seq: number, subject: string) => void;

export interface StreamStore {
  readonly kind: 'memory' | 'file';
  /**
   * Append a message. Synchronous into the store (it is readable at once);
   * durability is whenDurable()'s promise. Throws StoreError on a limit.
   */
  store(subject: string, hdr: Buffer | null, data: Buffer, timestampNs?: bigint): StoreResult;
  load(seq: number): StoredMessage | undefined;
  /** The newest message whose subject matches (wildcards allowed). */
  loadLastBySubject(filter: string): StoredMessage | undefined;
  /** The first message with seq >= fromSeq whose subject matches filter ('' or '>' = any). */
  loadNextMatching(filter: string, fromSeq: number): StoredMessage | undefined;
  /** Remove one message; false if it was not there. */
  remove(seq: number): boolean;
  /** Remove messages; returns how many. With no options: everything. */
  purge(opts?: PurgeOptions): number;
  /** Remove every message with seq < seq; the next stored seq is at least seq. Returns how many were removed. */
  compact(seq: number): number;
  /** Drop messages older than max_age now (also done by a background timer). Returns how many. */
  expire(): number;
  state(): StoreState;
  /** Interior deleted sequences (for StreamInfo deleted_details). */
  deletedSeqs(): number[];
  /** subject -> count for every stored subject matching filter ('' or '>' = all). */
  subjectsState(filter: string): Map<string, number>;
  /** How many messages with seq >= fromSeq match filter. */
  numPending(filter: string, fromSeq: number): number;
  /** First seq whose store time is >= tsNs (last_seq+1 if none). */
  seqFromTime(tsNs: bigint): number;
  updateConfig(limits: StoreLimits): void;
  limits(): StoreLimits;
  onStorageUpdate(listener: StorageUpdateListener | undefined): void;
  /** Resolves when everything stored so far is written, and fsynced when the sync policy is 'always'. */
  whenDurable(): Promise<void>;
  /**
   * Makes everything stored so far as durable as whenDurable() would, now, if
   * that needs no fsync and no other flush is under way (a synchronous write of
   * the pending bytes); true when done, false when the caller must use
   * whenDurable(). Saves the thread-pool hop and extra event-loop turns on the
   * PubAck path. Optional: stores without it always use whenDurable().
   */
  durableNow?(): boolean;
  /** Write and fsync everything now, whatever the policy. */
  sync(): Promise<void>;
  /** Flush, stop timers, close files. Further calls throw 'store is closed'. */
  stop(): Promise<void>;
  /** stop() and remove all stored data. */
  delete(): Promise<void>;
}

export type StoreErrorCode =
  | 'max_msgs'
  | 'max_bytes'
  | 'max_msgs_per_subject'
  | 'max_msg_size'
  | 'closed'
  | 'bad_subject'
  | 'io';

/** Exact texts of nats-server (server/store.go, errors.json) where one exists. */
const TEXTS: Record<StoreErrorCode, string> = {
  max_msgs: 'maximum messages exceeded',
  max_bytes: 'maximum bytes exceeded',
  max_msgs_per_subject: 'maximum messages per subject exceeded',
  max_msg_size: 'message size exceeds maximum allowed',
  closed: 'store is closed',
  bad_subject: 'invalid subject',
  io: 'store i/o error',
};

export class StoreError extends Error {
  readonly code: StoreErrorCode;
  constructor(code: StoreErrorCode, detail?: string) {
    super(detail ? `${TEXTS[code]}: ${detail}` : TEXTS[code]);
    this.name = 'StoreError';
    this.code = code;
  }
}

/**
 * Bytes a message counts against max_bytes, as nats-server's file store counts
 * them (fileStoreMsgSize): record length 4 + seq 8 + ts 8 + subject length 2 +
 * subject + (header length 4 + header, when present) + data + hash 8.
 */
export function fileStoreMsgSize(subjectLen: number, hdrLen: number, dataLen: number): number {
  return hdrLen === 0 ? 22 + subjectLen + dataLen + 8 : 22 + subjectLen + 4 + hdrLen + dataLen + 8;
}

/** nats-server's memStoreMsgSize: subject + header + data + 16 (seq + timestamp). */
export function memStoreMsgSize(subjectLen: number, hdrLen: number, dataLen: number): number {
  return subjectLen + hdrLen + dataLen + 16;
}
