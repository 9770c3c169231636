// Per-connection permission checks with a bounded decision cache, like
// nats-server's perms cache: a client publishing to the same subjects pays
// one Map lookup per message, not a scan of its allow/deny lists.
//
// Rules (nats-server semantics):
// - publish: the subject must match an allow filter (when there is an allow
//   list) and no deny filter. Matching is subject-vs-filter with wildcards.
// - subscribe: the subscription subject must be a subset of an allow filter
//   (when there is an allow list) and not a subset of a deny filter.
// - allow_responses: the client may publish to reply subjects of messages it
//   received, at most maxMsgs times each, within expiresMs (0 = no expiry).
//   With allow_responses and no publish rules, publish is otherwise denied.
import type { UserPermissions } from '../config/options.js';
import { subjectIsSubsetOf, subjectMatchesFilter } from './subject.js';

/** Bounded cache size and how many entries to drop when full (nats-server: 128 / 32). */
const CACHE_MAX = 128;
const CACHE_PRUNE = 32;

interface Rules {
  allow: string[] | null;
  deny: string[] | null;
}

function rules(allow: string[] | undefined, deny: string[] | undefined): Rules | null {
  const a = allow !== undefined ? [...allow] : null;
  const d = deny && deny.length > 0 ? [...deny] : null;
  return a !== null || d !== null ? { allow: a, deny: d } : null;
}

interface ReplyGrant {
  left: number;
  /** Date.now() deadline, 0 = none. */
  expires: number;
}

export class Permissions {
  private readonly pub: Rules | null;
  private readonly sub: Rules | null;
  private readonly pubCache = new Map<string, boolean>();
  /** allow_responses grants, keyed by reply subject; null when responses are not allowed. */
  private readonly replies: Map<string, ReplyGrant> | null;
  private readonly respMax: number;
  private readonly respExpires: number;

  constructor(p: UserPermissions) {
    const resp = p.allowResponses;
    let pub = rules(p.publish?.allow, p.publish?.deny);
    if (resp && pub === null) pub = { allow: [], deny: null };
    this.pub = pub;
    this.sub = rules(p.subscribe?.allow, p.subscribe?.deny);
    this.replies = resp ? new Map() : null;
    this.respMax = resp ? resp.maxMsgs : 0;
    this.respExpires = resp ? resp.expiresMs : 0;
  }

  /** True when a delivery with a reply subject must be recorded (allow_responses). */
  get tracksReplies(): boolean {
    return this.replies !== null;
  }

  canPublish(subject: string): boolean {
    const p = this.pub;
    if (p === null) return true;
    let ok = this.pubCache.get(subject);
    if (ok === undefined) {
      ok = matches(p, subject);
      if (this.pubCache.size >= CACHE_MAX) prune(this.pubCache);
      this.pubCache.set(subject, ok);
    }
    if (ok) return true;
    return this.replies !== null && this.useReply(subject);
  }

  canSubscribe(subject: string): boolean {
    const s = this.sub;
    if (s === null) return true;
    if (s.allow !== null && !s.allow.some((f) => subjectIsSubsetOf(subject, f))) return false;
    if (s.deny !== null && s.deny.some((f) => subjectIsSubsetOf(subject, f))) return false;
    return true;
  }

  /** Record that a message with this reply subject was delivered to the client. */
  grantReply(reply: string): void {
    const m = this.replies;
    if (m === null) return;
    const g = m.get(reply);
    const expires = this.respExpires > 0 ? Date.now() + this.respExpires : 0;
    if (g !== undefined) {
      g.left = this.respMax;
      g.expires = expires;
      return;
    }
    if (m.size >= 10_000) this.sweepReplies();
    m.set(reply, { left: this.respMax, expires });
  }

  private useReply(subject: string): boolean {
    const m = this.replies!;
    const g = m.get(subject);
    if (g === undefined) return false;
    if (g.expires > 0 && Date.now() > g.expires) {
      m.delete(subject);
      return false;
    }
    if (g.left > 0 && --g.left === 0) m.delete(subject);
    return true;
  }

  private sweepReplies(): void {
    const now = Date.now();
    const m = this.replies!;
    for (const [k, g] of m) if (g.expires > 0 && now > g.expires) m.delete(k);
    // Still full: drop the oldest grants (insertion order) rather than grow without bound.
    if (m.size >= 10_000) prune(m, 1000);
  }
}

function matches(r: Rules, subject: string): boolean {
  if (r.allow !== null && !r.allow.some((f) => subjectMatchesFilter(subject, f))) return false;
  if (r.deny !== null && r.deny.some((f) => subjectMatchesFilter(subject, f))) return false;
  return true;
}

function prune<K, V>(m: Map<K, V>, n = CACHE_PRUNE): void {
  let i = 0;
  for (const k of m.keys()) {
    m.delete(k);
    if (++i >= n) break;
  }
}

/** Permissions for a user, or null when the user is unrestricted. */
export function permissionsFor(p: UserPermissions | undefined): Permissions | null {
  if (!p) return null;
  if (!p.publish && !p.subscribe && !p.allowResponses) return null;
  return new Permissions(p);
}
