// Client authentication and the per-client permission slot.
//
// Authenticator is built from `opts.authorization` (+ no_auth_user). When it
// has a user/password, a token or a users list, INFO says auth_required and
// every CONNECT is checked here. The result carries the authenticated user
// name (for logs and /connz) and that user's permissions; ClientConnection
// asks canPublish/canSubscribe on PUB/SUB. Extension points (TLS client
// certs, nkeys, accounts) belong here too.
import { timingSafeEqual } from 'node:crypto';
import bcrypt from 'bcryptjs';
import type { AuthorizationOptions, Permission, UserPermissions } from '../config/options.js';
import { subjectIsSubsetOf, subjectMatchesFilter } from './subject.js';

/** The credential fields of a CONNECT. */
export interface ConnectCredentials {
  user?: string;
  pass?: string;
  auth_token?: string;
}

/** Compiled allow/deny lists; null list = no restriction of that kind. */
export interface PermissionRules {
  allow: string[] | null;
  deny: string[] | null;
}

export interface ClientPermissions {
  publish: PermissionRules | null;
  subscribe: PermissionRules | null;
}

export interface AuthResult {
  /** Authenticated user name ('' for token auth or no auth). */
  user: string;
  permissions: ClientPermissions | null;
}

function compile(p: Permission | undefined): PermissionRules | null {
  if (!p) return null;
  const allow = p.allow && p.allow.length > 0 ? [...p.allow] : null;
  const deny = p.deny && p.deny.length > 0 ? [...p.deny] : null;
  return allow || deny ? { allow, deny } : null;
}

export function compilePermissions(p: UserPermissions | undefined): ClientPermissions | null {
  if (!p) return null;
  const publish = compile(p.publish);
  const subscribe = compile(p.subscribe);
  return publish || subscribe ? { publish, subscribe } : null;
}

function safeEqual(a: string, b: string): boolean {
  const ab = Buffer.from(a, 'utf8');
  const bb = Buffer.from(b, 'utf8');
  return ab.length === bb.length && timingSafeEqual(ab, bb);
}

/** Plain or bcrypt ($2a$/$2b$/$2y$) password check. */
export function passwordMatches(given: string, configured: string): boolean {
  if (/^\$2[aby]\$/.test(configured)) {
    try {
      return bcrypt.compareSync(given, configured);
    } catch {
      return false;
    }
  }
  return safeEqual(given, configured);
}

export class Authenticator {
  readonly required: boolean;
  private readonly users = new Map<string, { password: string; permissions: ClientPermissions | null }>();

  constructor(
    private readonly opts: AuthorizationOptions,
    private readonly noAuthUser = '',
  ) {
    for (const u of opts.users ?? []) {
      this.users.set(u.user, { password: u.password, permissions: compilePermissions(u.permissions) });
    }
    this.required = Boolean(opts.user || opts.token || this.users.size > 0);
  }

  /** Auth timeout in ms. */
  get timeout(): number {
    return this.opts.timeout ?? 2000;
  }

  /** Check a CONNECT's credentials; null = Authorization Violation. */
  check(c: ConnectCredentials): AuthResult | null {
    if (!this.required) return { user: c.user ?? '', permissions: null };
    if (this.users.size > 0) {
      let name = c.user ?? '';
      let pass = c.pass ?? '';
      if (!name && !c.auth_token && this.noAuthUser && this.users.has(this.noAuthUser)) {
        name = this.noAuthUser;
        pass = this.users.get(name)!.password;
        return { user: name, permissions: this.users.get(name)!.permissions };
      }
      const u = this.users.get(name);
      if (u && passwordMatches(pass, u.password)) return { user: name, permissions: u.permissions };
      return null;
    }
    if (this.opts.token) {
      return c.auth_token !== undefined && passwordMatches(c.auth_token, this.opts.token)
        ? { user: '', permissions: null }
        : null;
    }
    if (this.opts.user) {
      return c.user === this.opts.user && passwordMatches(c.pass ?? '', this.opts.password ?? '')
        ? { user: c.user, permissions: null }
        : null;
    }
    return null;
  }

  /** With no_auth_user set, a client may skip CONNECT credentials (nats-server allows non-CONNECT first ops then). */
  get allowsAnonymousFirstOp(): boolean {
    return this.noAuthUser !== '' && this.users.has(this.noAuthUser);
  }
}

/** May a client with these permissions publish to this (literal) subject? */
export function canPublish(perms: ClientPermissions | null, subject: string): boolean {
  const p = perms?.publish;
  if (!p) return true;
  if (p.allow && !p.allow.some((f) => subjectMatchesFilter(subject, f))) return false;
  if (p.deny && p.deny.some((f) => subjectMatchesFilter(subject, f))) return false;
  return true;
}

/** May a client subscribe to this subject (pattern)? */
export function canSubscribe(perms: ClientPermissions | null, subject: string): boolean {
  const p = perms?.subscribe;
  if (!p) return true;
  if (p.allow && !p.allow.some((f) => subjectIsSubsetOf(subject, f))) return false;
  if (p.deny && p.deny.some((f) => subjectIsSubsetOf(subject, f))) return false;
  return true;
}
