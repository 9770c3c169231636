// StreamConfig from a request: fill nats-server's defaults, validate, and
// decide whether an update is allowed. Validation errors use nats-server's
// codes and texts (mostly 10052 "invalid stream config" with a reason).
import type { StreamConfig } from './api-types.js';
import { JsErr, JsApiError } from './errors.js';
import { isValidSubject, subjectsOverlap, subjectHasWildcard } from '../server/subject.js';

const NS_PER_MS = 1_000_000;
export const DEFAULT_DUPLICATE_WINDOW = 120_000 * NS_PER_MS;
const MIN_MAX_AGE = 100 * NS_PER_MS;

/** Stream and consumer names: no whitespace, '.', '*', '>' or path separators. */
export function isValidName(name: string): boolean {
  if (name === '' || name.length > 255) return false;
  return !/[\s.*>]/.test(name);
}

function num(v: unknown, field: string): number {
  if (v === undefined || v === null) return 0;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw JsErr.invalidJsonWith(`json: cannot unmarshal ${typeof v} into Go struct field StreamConfig.${field} of type int64`);
  return Math.trunc(v);
}

function oneOf<T extends string>(v: unknown, allowed: readonly T[], dflt: T, what: string): T {
  if (v === undefined || v === null || v === '') return dflt;
  if (typeof v === 'string' && (allowed as readonly string[]).includes(v)) return v as T;
  throw JsErr.invalidJsonWith(`can not unmarshal ${JSON.stringify(v)}: invalid ${what}`);
}

/** Normalizes a requested config (any JSON object) into a full StreamConfig or throws a JsApiError. */
export function normalizeStreamConfig(raw: unknown): StreamConfig {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw JsErr.invalidJson();
  const r = raw as Record<string, unknown>;
  const name = typeof r.name === 'string' ? r.name : '';
  if (name === '') throw JsErr.streamInvalidConfig('stream name is required');
  if (/[\\/]/.test(name)) throw JsErr.streamNameContainsPathSeparators();
  if (!isValidName(name)) throw JsErr.streamInvalidConfig('stream name is required and can not contain \'.\', \'*\', \'>\'');
  const cfg: StreamConfig = {
    name,
    subjects: undefined,
    retention: oneOf(r.retention, ['limits', 'interest', 'workqueue'] as const, 'limits', 'retention policy'),
    max_consumers: num(r.max_consumers, 'max_consumers') || -1,
    max_msgs: num(r.max_msgs, 'max_msgs') || -1,
    max_bytes: num(r.max_bytes, 'max_bytes') || -1,
    max_age: num(r.max_age, 'max_age'),
    max_msgs_per_subject: num(r.max_msgs_per_subject, 'max_msgs_per_subject') || -1,
    max_msg_size: num(r.max_msg_size, 'max_msg_size') || -1,
    discard: oneOf(r.discard, ['old', 'new'] as const, 'old', 'discard policy'),
    storage: oneOf(r.storage, ['file', 'memory'] as const, 'file', 'storage type'),
    num_replicas: num(r.num_replicas, 'num_replicas') || 1,
    duplicate_window: num(r.duplicate_window, 'duplicate_window'),
    allow_direct: r.allow_direct === true,
    mirror_direct: r.mirror_direct === true,
    sealed: r.sealed === true,
    deny_delete: r.deny_delete === true,
    deny_purge: r.deny_purge === true,
    allow_rollup_hdrs: r.allow_rollup_hdrs === true,
  };
  if (typeof r.description === 'string' && r.description !== '') cfg.description = r.description;
  if (r.no_ack === true) cfg.no_ack = true;
  const firstSeq = num(r.first_seq, 'first_seq');
  if (firstSeq > 0) cfg.first_seq = firstSeq;
  if (r.metadata && typeof r.metadata === 'object' && !Array.isArray(r.metadata)) cfg.metadata = r.metadata as Record<string, string>;

  if (cfg.num_replicas < 0) throw JsErr.replicasCountCannotBeNegative();
  // Tern runs JetStream on one server: replicas cannot be honoured.
  if (cfg.num_replicas > 1) throw JsErr.streamReplicasNotSupported();
  if (cfg.max_age < 0) throw JsErr.streamInvalidConfig('max age needs to be >= 0');
  if (cfg.max_age !== 0 && cfg.max_age < MIN_MAX_AGE) throw JsErr.streamInvalidConfig('max age needs to be >= 100ms');
  if (cfg.duplicate_window < 0) throw JsErr.streamInvalidConfig('duplicates window can not be negative');
  if (cfg.duplicate_window === 0) {
    cfg.duplicate_window = cfg.max_age !== 0 && cfg.max_age < DEFAULT_DUPLICATE_WINDOW ? cfg.max_age : DEFAULT_DUPLICATE_WINDOW;
  } else if (cfg.max_age !== 0 && cfg.duplicate_window > cfg.max_age) {
    throw JsErr.streamInvalidConfig('duplicates window can not be larger then max age');
  }

  let subjects: string[];
  if (r.subjects === undefined || r.subjects === null) subjects = [name];
  else if (Array.isArray(r.subjects) && r.subjects.every((s) => typeof s === 'string')) subjects = r.subjects as string[];
  else throw JsErr.invalidJsonWith('subjects must be an array of strings');
  if (subjects.length === 0) subjects = [name];
  for (const s of subjects) {
    if (!isValidSubject(s)) throw JsErr.streamInvalidConfig('invalid subject');
    if (s === '>' || s.startsWith('$JS.API') || subjectsOverlap(s, '$JS.API.>')) {
      throw JsErr.streamInvalidConfig('subjects overlap with jetstream api');
    }
  }
  for (let i = 0; i < subjects.length; i++) {
    for (let j = i + 1; j < subjects.length; j++) {
      if (subjects[i] === subjects[j]) throw JsErr.streamInvalidConfig('duplicate subjects detected');
      if (subjectsOverlap(subjects[i]!, subjects[j]!)) throw JsErr.streamInvalidConfig('subjects overlap');
    }
  }
  cfg.subjects = subjects;
  return cfg;
}

/** Checks that `next` may replace `cur` (nats-server's stream update rules). */
export function checkStreamUpdate(cur: StreamConfig, next: StreamConfig): void {
  if (cur.name !== next.name) throw JsErr.streamMismatch();
  if (cur.storage !== next.storage) throw JsErr.streamUpdate('stream configuration update can not change storage type');
  if (cur.retention !== next.retention) throw JsErr.streamUpdate('stream configuration update can not change retention policy');
  if (cur.num_replicas !== next.num_replicas) throw JsErr.streamReplicasNotUpdatable();
  if (cur.sealed && !next.sealed) throw JsErr.streamUpdate('stream configuration update can not unseal a sealed stream');
  if (cur.deny_delete && !next.deny_delete) throw JsErr.streamUpdate('stream configuration update can not cancel deny message deletes');
  if (cur.deny_purge && !next.deny_purge) throw JsErr.streamUpdate('stream configuration update can not cancel deny purge');
}

/** Canonical JSON of a config for equality checks (create with an existing name). */
export function sameStreamConfig(a: StreamConfig, b: StreamConfig): boolean {
  return canonical(a) === canonical(b);
}

function canonical(c: object): string {
  const o = c as Record<string, unknown>;
  return JSON.stringify(Object.keys(o).filter((k) => o[k] !== undefined).sort().map((k) => [k, o[k]]));
}

export function isLiteral(subject: string): boolean {
  return !subjectHasWildcard(subject);
}

export { JsApiError };
