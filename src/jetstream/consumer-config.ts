// ConsumerConfig from a create request: nats-server's defaults
// (setConsumerConfigDefaults) and checks (checkConsumerCfg), with its codes.
import type { ConsumerConfig, StreamConfig } from './api-types.js';
import { JsErr } from './errors.js';
import { isValidName } from './stream-config.js';
import { isValidSubject, subjectHasWildcard, subjectIsSubsetOf, subjectsOverlap } from '../server/subject.js';

const NS_PER_MS = 1_000_000;
export const DEFAULT_ACK_WAIT = 30_000 * NS_PER_MS;
export const DEFAULT_MAX_ACK_PENDING = 1000;
export const DEFAULT_MAX_WAITING = 512;
export const DEFAULT_INACTIVE_THRESHOLD = 5_000 * NS_PER_MS;

const DELIVER = ['all', 'last', 'new', 'by_start_sequence', 'by_start_time', 'last_per_subject'] as const;
const ACK = ['none', 'all', 'explicit'] as const;
const REPLAY = ['instant', 'original'] as const;

function int(v: unknown, field: string): number {
  if (v === undefined || v === null) return 0;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw JsErr.invalidJsonWith(`json: cannot unmarshal into field ConsumerConfig.${field}`);
  return Math.trunc(v);
}

function oneOf<T extends string>(v: unknown, allowed: readonly T[], dflt: T, what: string): T {
  if (v === undefined || v === null || v === '') return dflt;
  if (typeof v === 'string' && (allowed as readonly string[]).includes(v)) return v as T;
  throw JsErr.invalidJsonWith(`can not unmarshal ${JSON.stringify(v)}: invalid ${what}`);
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/** The filters a consumer selects by ([] = everything). */
export function consumerFilters(cfg: ConsumerConfig): string[] {
  if (cfg.filter_subjects && cfg.filter_subjects.length > 0) return cfg.filter_subjects;
  if (cfg.filter_subject) return [cfg.filter_subject];
  return [];
}

/**
 * Builds a full consumer config from the request's `config`, or throws a
 * JsApiError. `stream` is the parent stream's config.
 */
export function normalizeConsumerConfig(raw: unknown, stream: StreamConfig): ConsumerConfig {
  if (raw === undefined || raw === null) throw JsErr.consumerConfigRequired();
  if (typeof raw !== 'object' || Array.isArray(raw)) throw JsErr.invalidJson();
  const r = raw as Record<string, unknown>;
  const cfg: ConsumerConfig = {
    deliver_policy: oneOf(r.deliver_policy, DELIVER, 'all', 'deliver policy'),
    ack_policy: oneOf(r.ack_policy, ACK, 'none', 'ack policy'),
    replay_policy: oneOf(r.replay_policy, REPLAY, 'instant', 'replay policy'),
    num_replicas: int(r.num_replicas, 'num_replicas'),
  };
  const durable = str(r.durable_name);
  const name = str(r.name);
  if (durable !== undefined) cfg.durable_name = durable;
  if (name !== undefined) cfg.name = name;
  if (durable && name && durable !== name) throw JsErr.consumerCreateDurableAndNameMismatch();
  for (const n of [durable, name]) {
    if (n === undefined) continue;
    if (/[\\/]/.test(n)) throw JsErr.consumerNameContainsPathSeparators();
    if (!isValidName(n)) throw JsErr.consumerBadDurableName();
  }
  const description = str(r.description);
  if (description !== undefined) {
    if (description.length > 4096) throw JsErr.consumerDescriptionTooLong(4096);
    cfg.description = description;
  }
  const optStartSeq = int(r.opt_start_seq, 'opt_start_seq');
  if (optStartSeq > 0) cfg.opt_start_seq = optStartSeq;
  const optStartTime = str(r.opt_start_time);
  if (optStartTime !== undefined) {
    if (Number.isNaN(Date.parse(optStartTime))) throw JsErr.invalidJsonWith('invalid opt_start_time');
    cfg.opt_start_time = optStartTime;
  }
  const ackWait = int(r.ack_wait, 'ack_wait');
  const maxDeliver = int(r.max_deliver, 'max_deliver');
  const maxWaiting = int(r.max_waiting, 'max_waiting');
  const maxAckPending = int(r.max_ack_pending, 'max_ack_pending');
  if (Array.isArray(r.backoff) && r.backoff.length > 0) {
    if (!r.backoff.every((b) => typeof b === 'number' && b > 0)) throw JsErr.invalidJsonWith('invalid backoff');
    cfg.backoff = (r.backoff as number[]).map(Math.trunc);
  }
  const filter = str(r.filter_subject);
  if (filter !== undefined) cfg.filter_subject = filter;
  if (Array.isArray(r.filter_subjects) && r.filter_subjects.length > 0) {
    if (!r.filter_subjects.every((f) => typeof f === 'string')) throw JsErr.invalidJsonWith('invalid filter_subjects');
    cfg.filter_subjects = r.filter_subjects as string[];
  }
  const deliverSubject = str(r.deliver_subject);
  if (deliverSubject !== undefined) cfg.deliver_subject = deliverSubject;
  const deliverGroup = str(r.deliver_group);
  if (deliverGroup !== undefined) cfg.deliver_group = deliverGroup;
  const hb = int(r.idle_heartbeat, 'idle_heartbeat');
  if (hb > 0) cfg.idle_heartbeat = hb;
  if (r.flow_control === true) cfg.flow_control = true;
  if (r.headers_only === true) cfg.headers_only = true;
  if (r.mem_storage === true) cfg.mem_storage = true;
  for (const k of ['max_batch', 'max_expires', 'max_bytes', 'inactive_threshold', 'rate_limit_bps'] as const) {
    const v = int(r[k], k);
    if (v !== 0) cfg[k] = v;
  }
  if (r.metadata && typeof r.metadata === 'object' && !Array.isArray(r.metadata)) cfg.metadata = r.metadata as Record<string, string>;

  // Defaults, in nats-server's order.
  const explicitish = cfg.ack_policy === 'explicit' || cfg.ack_policy === 'all';
  if (!cfg.deliver_subject && maxWaiting === 0) cfg.max_waiting = DEFAULT_MAX_WAITING;
  else if (maxWaiting !== 0) cfg.max_waiting = maxWaiting;
  if (ackWait !== 0) cfg.ack_wait = ackWait;
  else if (explicitish) cfg.ack_wait = DEFAULT_ACK_WAIT;
  cfg.max_deliver = maxDeliver === 0 ? -1 : maxDeliver;
  if (cfg.backoff) cfg.ack_wait = cfg.backoff[0];
  if (maxAckPending !== 0) cfg.max_ack_pending = maxAckPending;
  else if (explicitish) cfg.max_ack_pending = DEFAULT_MAX_ACK_PENDING;
  if (!durable && cfg.inactive_threshold === undefined) cfg.inactive_threshold = DEFAULT_INACTIVE_THRESHOLD;

  // Checks (checkConsumerCfg).
  if (cfg.num_replicas < 0) throw JsErr.replicasCountCannotBeNegative();
  if (cfg.num_replicas > 1) throw JsErr.streamReplicasNotSupported();
  if (cfg.backoff && cfg.max_deliver !== -1 && cfg.max_deliver <= cfg.backoff.length) throw JsErr.consumerMaxDeliverBackoff();
  if (cfg.backoff && cfg.max_deliver === -1) throw JsErr.consumerMaxDeliverBackoff();
  if (cfg.deliver_subject !== undefined) {
    if (subjectHasWildcard(cfg.deliver_subject)) throw JsErr.consumerDeliverToWildcards();
    if (!isValidSubject(cfg.deliver_subject)) throw JsErr.consumerInvalidDeliverSubject();
    if ((stream.subjects ?? []).some((s) => subjectsOverlap(s, cfg.deliver_subject!))) throw JsErr.consumerDeliverCycle();
    if (maxWaiting !== 0) throw JsErr.consumerPushMaxWaiting();
    if (maxAckPending > 0 && cfg.ack_policy === 'none') throw JsErr.consumerMaxPendingAckPolicyRequired();
    if (hb > 0 && hb < 100 * NS_PER_MS) throw JsErr.consumerSmallHeartbeat();
    if (cfg.flow_control && hb === 0) throw JsErr.consumerWithFlowControlNeedsHeartbeats();
  } else {
    if (cfg.ack_policy === 'none' && stream.retention === 'workqueue') throw JsErr.consumerPullRequiresAck();
    if ((cfg.max_waiting ?? 0) < 0) throw JsErr.consumerMaxWaitingNegative();
    if (hb > 0) throw JsErr.consumerHbRequiresPush();
    if (cfg.flow_control) throw JsErr.consumerFcRequiresPush();
    if ((cfg.max_batch ?? 0) < 0) throw JsErr.consumerMaxRequestBatchNegative();
    if (cfg.max_expires !== undefined && cfg.max_expires < NS_PER_MS) throw JsErr.consumerMaxRequestExpiresTooSmall();
  }
  if (cfg.filter_subject !== undefined && cfg.filter_subjects !== undefined) throw JsErr.consumerDuplicateFilterSubjects();
  const filters = consumerFilters(cfg);
  for (const f of filters) {
    if (f === '') throw JsErr.consumerEmptyFilter();
    if (!isValidSubject(f)) throw JsErr.consumerFilterNotSubset();
    const streamSubjects = stream.subjects ?? [];
    const ok = streamSubjects.some((s) => subjectIsSubsetOf(f, s) || subjectIsSubsetOf(s, f) || subjectsOverlap(f, s));
    if (!ok) throw JsErr.consumerFilterNotSubset();
  }
  for (let i = 0; i < filters.length; i++) {
    for (let j = i + 1; j < filters.length; j++) {
      if (subjectsOverlap(filters[i]!, filters[j]!)) throw JsErr.consumerOverlappingSubjectFilters();
    }
  }
  const bad = (msg: string) => JsErr.consumerInvalidPolicy(msg);
  const badStart = (dp: string, what: string) => bad(`consumer delivery policy is deliver ${dp}, but optional start ${what} is also set`);
  const notSet = (dp: string, what: string) => bad(`consumer delivery policy is deliver ${dp}, but optional ${what} is not set`);
  switch (cfg.deliver_policy) {
    case 'all':
    case 'last':
    case 'new':
    case 'last_per_subject': {
      const label = cfg.deliver_policy === 'last_per_subject' ? 'last per subject' : cfg.deliver_policy;
      if (cfg.opt_start_seq) throw badStart(label, 'sequence');
      if (cfg.opt_start_time) throw badStart(label, 'time');
      break;
    }
    case 'by_start_sequence':
      if (!cfg.opt_start_seq) throw notSet('by start sequence', 'start sequence');
      if (cfg.opt_start_time) throw badStart('by start sequence', 'time');
      break;
    case 'by_start_time':
      if (!cfg.opt_start_time) throw notSet('by start time', 'start time');
      if (cfg.opt_start_seq) throw badStart('by start time', 'sequence');
      break;
  }
  return cfg;
}

/** Fields of a consumer config that an update may change. */
const UPDATABLE = new Set([
  'description', 'ack_wait', 'max_deliver', 'backoff', 'max_waiting', 'max_ack_pending', 'headers_only',
  'max_batch', 'max_expires', 'max_bytes', 'inactive_threshold', 'idle_heartbeat', 'metadata',
  'filter_subject', 'filter_subjects', 'deliver_subject', 'rate_limit_bps', 'sample_freq',
]);

/** Canonical JSON for equality checks. */
export function sameConsumerConfig(a: ConsumerConfig, b: ConsumerConfig): boolean {
  return canonical(a) === canonical(b);
}

/** Throws when `next` changes a field an update may not change. */
export function checkConsumerUpdate(cur: ConsumerConfig, next: ConsumerConfig): void {
  const a = cur as unknown as Record<string, unknown>;
  const b = next as unknown as Record<string, unknown>;
  for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
    if (UPDATABLE.has(k) || k === 'name') continue;
    if (JSON.stringify(a[k]) !== JSON.stringify(b[k])) {
      throw JsErr.consumerCreate(`consumer ${k.replace(/_/g, ' ')} can not be updated`);
    }
  }
}

function canonical(c: object): string {
  const o = c as Record<string, unknown>;
  return JSON.stringify(Object.keys(o).filter((k) => o[k] !== undefined).sort().map((k) => [k, o[k]]));
}
