// Client authentication.
//
// Authenticator is built from `opts.authorization` (+ no_auth_user). When it
// has a user/password, a token or a users list, INFO says auth_required and
// every CONNECT is checked here. The result carries the authenticated user
// name (for logs and /connz) and a fresh Permissions object for that
// connection (src/server/permissions.ts: cached decisions, reply grants).
// A failed check says nothing about which part was wrong: the client only
// ever sees 'Authorization Violation'. Passwords and tokens may be stored as
// bcrypt hashes ($2a$/$2b$/$2y$). A reload builds a new Authenticator and
// re-checks every connection against it (src/server/reload.ts).
import { createHash, timingSafeEqual } from 'node:crypto';
import bcrypt from 'bcryptjs';
import type { AuthorizationOptions, UserPermissions } from '../config/options.js';
import { permissionsFor, type Permissions } from './permissions.js';

/** The credential fields of a CONNECT. */
export interface ConnectCredentials {
  user?: string;
  pass?: string;
  auth_token?: string;
}

export interface AuthResult {
  /** Authenticated user name ('' for token auth or no auth). */
  user: string;
  permissions: Permissions | null;
}

function safeEqual(a: string, b: string): boolean {
  const ab = Buffer.from(a, 'utf8');
  const bb = Buffer.from(b, 'utf8');
  return ab.length === bb.length && timingSafeEqual(ab, bb);
}

const BCRYPT = /^\$2[aby]\$\d\d\$/;

/** Plain or bcrypt ($2a$/$2b$/$2y$) password check. */
export function passwordMatches(given: string, configured: string): boolean {
  if (BCRYPT.test(configured)) {
    try {
      return bcrypt.compareSync(given, configured);
    } catch {
      return false;
    }
  }
  return safeEqual(given, configured);
}

interface UserEntry {
  password: string;
  permissions: UserPermissions | undefined;
}

const DEFAULT_AUTH_TIMEOUT_MS = 2000;

export class Authenticator {
  readonly required: boolean;
  private readonly users = new Map<string, UserEntry>();
  /** sha256 of passwords that passed a bcrypt check (per user + hash), so reconnect storms do not cost a bcrypt each. */
  private readonly bcryptOk = new Map<string, string>();

  constructor(
    private readonly opts: AuthorizationOptions,
    private readonly noAuthUser = '',
    /** TLS handshake timeout (ms) when TLS is on: the default auth timeout is one second more, as nats-server. */
    private readonly tlsTimeoutMs: number | null = null,
  ) {
    for (const u of opts.users ?? []) this.users.set(u.user, { password: u.password, permissions: u.permissions });
    this.required = Boolean(opts.user || opts.token || this.users.size > 0);
  }

  /** Auth timeout in ms. */
  get timeout(): number {
    // Unset with TLS on: one second more than the TLS handshake timeout, as nats-server.
    const t = this.opts.timeout;
    if (t === undefined && this.tlsTimeoutMs !== null) return this.tlsTimeoutMs + 1000;
    return t ?? DEFAULT_AUTH_TIMEOUT_MS;
  }

  /** Check a CONNECT's credentials; null = Authorization Violation. */
  check(c: ConnectCredentials): AuthResult | null {
    if (!this.required) return { user: c.user ?? '', permissions: null };
    if (this.users.size > 0) {
      const name = c.user ?? '';
      if (!name && !c.auth_token && this.allowsAnonymousFirstOp) {
        return { user: this.noAuthUser, permissions: permissionsFor(this.users.get(this.noAuthUser)!.permissions) };
      }
      const u = this.users.get(name);
      if (u && this.passwordOk(name, c.pass ?? '', u.password)) return { user: name, permissions: permissionsFor(u.permissions) };
      return null;
    }
    if (this.opts.token) {
      return c.auth_token !== undefined && this.passwordOk('', c.auth_token, this.opts.token) ? { user: '', permissions: null } : null;
    }
    if (this.opts.user) {
      return c.user === this.opts.user && this.passwordOk(c.user, c.pass ?? '', this.opts.password ?? '') ? { user: c.user, permissions: null } : null;
    }
    return null;
  }

  private passwordOk(user: string, given: string, configured: string): boolean {
    if (!BCRYPT.test(configured)) return safeEqual(given, configured);
    const key = `${user}\u0000${configured}`;
    const digest = createHash('sha256').update(given, 'utf8').digest('hex');
    const known = this.bcryptOk.get(key);
    if (known !== undefined && safeEqual(digest, known)) return true;
    if (!passwordMatches(given, configured)) return false;
    if (this.bcryptOk.size >= 1024) this.bcryptOk.clear();
    this.bcryptOk.set(key, digest);
    return true;
  }

  /** With no_auth_user set, a client may skip CONNECT credentials (nats-server allows non-CONNECT first ops then). */
  get allowsAnonymousFirstOp(): boolean {
    return this.noAuthUser !== '' && this.users.has(this.noAuthUser);
  }
}
