// Builders of the monitoring JSON bodies from a running Server. Each takes
// parsed query parameters and returns a wire type from types.ts; bad
// parameters throw MonitorQueryError (HTTP 400 with its text, as nats-server).
import { cpus } from 'node:os';
import type { ClientConnection, ConnectionSnapshot } from '../client.js';
import type { ConnectionActivity } from '../connection.js';
import type { Server } from '../server.js';
import { isValidLiteralSubject, subjectMatchesFilter } from '../subject.js';
import type { Subscription } from '../subscription.js';
import { goDuration, msToNanos, rfc3339, uptimeString } from './format.js';
import { boolParam, DEFAULT_LIMIT, intParam, MonitorQueryError } from './params.js';
import { routeSource } from './routes.js';
import type { ConnInfo, Connz, JetStreamVarz, RouteInfo, Routez, SubDetail, Subsz, Varz } from './types.js';

export { MonitorQueryError } from './params.js';
const GLOBAL_ACCOUNT = '$G';

/** Process CPU percent between successive /varz calls (nats-server samples it similarly). */
class CpuSampler {
  private last = process.cpuUsage();
  private lastAt = process.hrtime.bigint();
  private value = 0;

  sample(): number {
    const now = process.hrtime.bigint();
    const elapsedUs = Number(now - this.lastAt) / 1000;
    if (elapsedUs >= 100_000) {
      const u = process.cpuUsage(this.last);
      this.value = Math.round(((u.user + u.system) / elapsedUs) * 10000) / 100;
      this.last = process.cpuUsage();
      this.lastAt = now;
    }
    return this.value;
  }
}

export interface VarzContext {
  httpHost: string;
  httpPort: number;
  httpReqStats: Record<string, number>;
  configLoadTime: Date;
  cpu: CpuSampler;
  /** The /varz `jetstream` object ({} when JetStream is off). */
  jetstream: () => JetStreamVarz;
}

export function newCpuSampler(): CpuSampler {
  return new CpuSampler();
}

export function buildVarz(server: Server, ctx: VarzContext): Varz {
  const o = server.options;
  const info = server.info();
  const now = new Date();
  const routes = routeSource(server);
  const routeSlow = routes?.slowConsumers() ?? 0;
  const s = server.stats;
  const cluster: Varz['cluster'] = {};
  if (o.cluster) {
    cluster.name = o.cluster.name;
    cluster.addr = o.cluster.host;
    cluster.cluster_port = o.cluster.port;
    cluster.urls = o.cluster.routes;
    cluster.pool_size = o.cluster.poolSize;
  }
  const v: Varz = {
    server_id: server.serverId,
    server_name: server.serverName,
    version: info.version,
    proto: info.proto,
    go: info.go,
    host: o.host,
    port: server.port,
    max_connections: o.maxConnections,
    ping_interval: msToNanos(o.pingInterval),
    ping_max: o.pingMax,
    http_host: ctx.httpHost,
    http_port: ctx.httpPort,
    http_base_path: '',
    https_port: 0,
    auth_timeout: server.auth.timeout / 1000,
    max_control_line: o.maxControlLine,
    max_payload: o.maxPayload,
    max_pending: o.maxPending,
    cluster,
    gateway: {},
    leaf: {},
    mqtt: {},
    websocket: {},
    jetstream: ctx.jetstream(),
    tls_timeout: (o.tls?.timeout ?? 2000) / 1000,
    write_deadline: msToNanos(o.writeDeadline),
    start: rfc3339(server.startTime),
    now: rfc3339(now),
    uptime: uptimeString(now.getTime() - server.startTime.getTime()),
    mem: process.memoryUsage.rss(),
    cores: cpus().length,
    gomaxprocs: cpus().length,
    cpu: ctx.cpu.sample(),
    connections: server.clients.size,
    total_connections: s.totalConnections,
    routes: routes?.routes().length ?? 0,
    remotes: routes?.routes().length ?? 0,
    leafnodes: 0,
    in_msgs: s.inMsgs,
    out_msgs: s.outMsgs,
    in_bytes: s.inBytes,
    out_bytes: s.outBytes,
    slow_consumers: s.slowConsumers + routeSlow,
    slow_consumer_stats: { clients: s.slowConsumers, routes: routeSlow, gateways: 0, leafs: 0 },
    stale_connections: s.staleConnections,
    subscriptions: server.sublist.count,
    http_req_stats: { ...ctx.httpReqStats },
    config_load_time: rfc3339(ctx.configLoadTime),
    system_account: '$SYS',
  };
  if (info.auth_required) v.auth_required = true;
  if (info.tls_required) v.tls_required = true;
  if (info.tls_verify) v.tls_verify = true;
  if (Array.isArray(info.connect_urls) && info.connect_urls.length > 0) v.connect_urls = info.connect_urls;
  if (o.maxSubscriptions > 0) v.max_subscriptions = o.maxSubscriptions;
  return v;
}

// ---- query parameters ---------------------------------------------------------

/** subs=1|true|detail (as nats-server's decodeSubs). */
function subsParam(q: URLSearchParams): 'none' | 'list' | 'detail' {
  const s = q.get('subs');
  if (s !== null && s.toLowerCase() === 'detail') return 'detail';
  return boolParam(q, 'subs') ? 'list' : 'none';
}

function paging(q: URLSearchParams): { offset: number; limit: number } {
  let offset = intParam(q, 'offset', 0);
  let limit = intParam(q, 'limit', DEFAULT_LIMIT);
  if (offset < 0) offset = 0;
  if (limit <= 0) limit = DEFAULT_LIMIT;
  return { offset, limit };
}

// ---- /connz ---------------------------------------------------------------------

const SORTS = ['cid', 'start', 'subs', 'pending', 'msgs_to', 'msgs_from', 'bytes_to', 'bytes_from', 'last', 'idle', 'uptime', 'stop', 'reason', 'rtt'] as const;
type SortOpt = (typeof SORTS)[number];

function subDetail(sub: Subscription, cid: number, withAccount: boolean): SubDetail {
  const d: SubDetail = withAccount ? { account: GLOBAL_ACCOUNT, subject: sub.subject, sid: sub.sid, msgs: sub.delivered, cid } : { subject: sub.subject, sid: sub.sid, msgs: sub.delivered, cid };
  if (sub.queue !== null) {
    // Keep nats-server's key order: qgroup follows subject.
    const { sid, msgs } = d;
    delete (d as Partial<SubDetail>).sid;
    delete (d as Partial<SubDetail>).msgs;
    delete (d as Partial<SubDetail>).cid;
    d.qgroup = sub.queue;
    d.sid = sid;
    d.msgs = msgs;
    d.cid = cid;
  }
  if (sub.max > 0) d.max = sub.max;
  return d;
}

interface ConnRow {
  snap: ConnectionSnapshot;
  live: ClientConnection | null;
}

function sortRows(rows: ConnRow[], by: SortOpt, now: number): void {
  const num = (f: (s: ConnectionSnapshot) => number): void => {
    rows.sort((a, b) => f(b.snap) - f(a.snap) || a.snap.cid - b.snap.cid);
  };
  switch (by) {
    case 'cid':
    case 'start':
      rows.sort((a, b) => a.snap.cid - b.snap.cid);
      return;
    case 'subs':
      return num((s) => s.numSubs);
    case 'pending':
      return num((s) => s.pendingBytes);
    case 'msgs_to':
      return num((s) => s.outMsgs);
    case 'msgs_from':
      return num((s) => s.inMsgs);
    case 'bytes_to':
      return num((s) => s.outBytes);
    case 'bytes_from':
      return num((s) => s.inBytes);
    case 'last':
      return num((s) => s.lastActivity.getTime());
    case 'idle':
      return num((s) => now - s.lastActivity.getTime());
    case 'uptime':
      return num((s) => (s.stop?.getTime() ?? now) - s.start.getTime());
    case 'stop':
      return num((s) => s.stop?.getTime() ?? 0);
    case 'rtt':
      return num((s) => s.rttMs);
    case 'reason':
      rows.sort((a, b) => (a.snap.reason < b.snap.reason ? -1 : a.snap.reason > b.snap.reason ? 1 : a.snap.cid - b.snap.cid));
      return;
  }
}

export function buildConnz(server: Server, q: URLSearchParams): Connz {
  const sortS = q.get('sort') || 'cid';
  if (!(SORTS as readonly string[]).includes(sortS)) throw new MonitorQueryError(`invalid sorting option: ${sortS}`);
  const sortBy = sortS as SortOpt;
  const auth = boolParam(q, 'auth');
  const subs = subsParam(q);
  const { offset, limit } = paging(q);
  const cid = intParam(q, 'cid', 0);
  const stateS = (q.get('state') || 'open').toLowerCase();
  if (!['open', 'closed', 'any', 'all'].includes(stateS)) throw new MonitorQueryError(`invalid connection state: ${stateS}`);
  const state = stateS === 'all' ? 'any' : stateS;
  if ((sortBy === 'stop' || sortBy === 'reason') && state === 'open') {
    throw new MonitorQueryError(`sort by stop or reason only valid on closed connections`);
  }
  const user = q.get('user') ?? '';
  const now = new Date();

  let rows: ConnRow[] = [];
  if (state !== 'closed') {
    for (const c of server.clients.values()) rows.push({ snap: c.snapshot(), live: c });
  }
  if (state !== 'open') {
    for (const snap of server.closedConnections()) rows.push({ snap, live: null });
  }
  if (cid > 0) rows = rows.filter((r) => r.snap.cid === cid);
  if (user !== '') rows = rows.filter((r) => r.snap.authorizedUser === user);
  sortRows(rows, sortBy, now.getTime());
  const total = rows.length;
  const page = rows.slice(offset, offset + limit);
  return {
    server_id: server.serverId,
    now: rfc3339(now),
    num_connections: page.length,
    total,
    offset,
    limit,
    connections: page.map((r) => connInfo(r, now, auth, subs)),
  };
}

/** The activity part of a /connz or /routez entry; the pending field's name differs (as in nats-server). */
type ActivityFields<P extends 'pending_bytes' | 'pending_size'> = Pick<ConnInfo, 'ip' | 'port' | 'start' | 'last_activity' | 'stop' | 'reason' | 'rtt' | 'uptime' | 'idle' | 'in_msgs' | 'out_msgs' | 'in_bytes' | 'out_bytes'> &
  Record<P, number>;

/**
 * The fields /connz and /routez entries share, in nats-server's key order. A
 * closed connection (stop set) shows stop and reason right after
 * last_activity, and its uptime and idle end at stop.
 */
function activityFields<P extends 'pending_bytes' | 'pending_size'>(a: ConnectionActivity, now: Date, pendingKey: P, stop: Date | null = null, reason = ''): ActivityFields<P> {
  const end = stop ?? now;
  const f: Record<string, string | number> = { ip: a.ip, port: a.port, start: rfc3339(a.start), last_activity: rfc3339(a.lastActivity) };
  if (stop !== null) {
    f.stop = rfc3339(stop);
    f.reason = reason;
  }
  f.rtt = goDuration(a.rttMs);
  f.uptime = uptimeString(end.getTime() - a.start.getTime());
  f.idle = uptimeString(end.getTime() - a.lastActivity.getTime());
  f[pendingKey] = a.pendingBytes;
  f.in_msgs = a.inMsgs;
  f.out_msgs = a.outMsgs;
  f.in_bytes = a.inBytes;
  f.out_bytes = a.outBytes;
  return f as ActivityFields<P>;
}

function connInfo(r: ConnRow, now: Date, auth: boolean, subs: 'none' | 'list' | 'detail'): ConnInfo {
  const s = r.snap;
  const ci: ConnInfo = {
    cid: s.cid,
    kind: s.kind,
    type: 'nats',
    ...activityFields(s, now, 'pending_bytes', s.stop, s.reason),
    subscriptions: s.numSubs,
  };
  if (s.name) ci.name = s.name;
  if (s.lang) ci.lang = s.lang;
  if (s.version) ci.version = s.version;
  if (s.tlsVersion) {
    ci.tls_version = s.tlsVersion;
    if (r.live) ci.tls_cipher_suite = r.live.tlsCipherSuite;
  }
  if (auth && s.authorizedUser) ci.authorized_user = s.authorizedUser;
  if (subs === 'list' && s.subscriptions.length > 0) ci.subscriptions_list = s.subscriptions;
  if (subs === 'detail') {
    if (r.live) {
      const list = [...r.live.subs.values()].map((sub) => subDetail(sub, s.cid, false));
      if (list.length > 0) ci.subscriptions_list_detail = list;
    } else if (s.subscriptions.length > 0) ci.subscriptions_list = s.subscriptions;
  }
  return ci;
}

// ---- /subsz ---------------------------------------------------------------------

export function buildSubsz(server: Server, q: URLSearchParams): Subsz {
  const subs = subsParam(q) !== 'none';
  const { offset, limit } = paging(q);
  const test = q.get('test');
  if (test !== null && !isValidLiteralSubject(test)) throw new MonitorQueryError(`invalid test subject, must be valid publish subject: ${test}`);
  const st = server.sublist.stats();
  const now = new Date();
  const out: Subsz = {
    server_id: server.serverId,
    now: rfc3339(now),
    num_subscriptions: st.numSubscriptions,
    num_cache: st.numCache,
    num_inserts: st.numInserts,
    num_removes: st.numRemoves,
    num_matches: st.numMatches,
    cache_hit_rate: st.cacheHitRate,
    max_fanout: st.maxFanout,
    avg_fanout: st.avgFanout,
    total: 0,
    offset,
    limit,
  };
  let all = server.sublist.all();
  if (test !== null) all = all.filter((s) => subjectMatchesFilter(test, s.subject));
  out.total = test !== null || subs ? all.length : st.numSubscriptions;
  if (subs) {
    all.sort((a, b) => a.owner.cid - b.owner.cid || (a.sid < b.sid ? -1 : a.sid > b.sid ? 1 : 0));
    out.subscriptions_list = all.slice(offset, offset + limit).map((s) => subDetail(s, s.owner.cid, true));
  }
  return out;
}

// ---- /routez --------------------------------------------------------------------

export function buildRoutez(server: Server, q: URLSearchParams): Routez {
  const subs = subsParam(q);
  const now = new Date();
  const routes = routeSource(server)?.routes() ?? [];
  return {
    server_id: server.serverId,
    server_name: server.serverName,
    now: rfc3339(now),
    num_routes: routes.length,
    routes: routes.map((r): RouteInfo => {
      const ri: RouteInfo = {
        rid: r.rid,
        remote_id: r.remoteId,
        remote_name: r.remoteName,
        did_solicit: r.didSolicit,
        is_configured: r.isConfigured,
        ...activityFields(r, now, 'pending_size'),
        subscriptions: r.subscriptions.length,
      };
      if (subs !== 'none' && r.subscriptions.length > 0) ri.subscriptions_list = r.subscriptions;
      return ri;
    }),
  };
}
