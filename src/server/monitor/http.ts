// MonitorServer: the node:http listener on -m/--http. JSON endpoints are
// pretty-printed like nats-server's (2-space indent) with
// Access-Control-Allow-Origin: *; bad query parameters get HTTP 400 with a
// plain-text reason; /metrics is Prometheus text exposition.
import { createServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';
import { hostPort, type Server } from '../server.js';
import { buildConnz, buildRoutez, buildSubsz, buildVarz, newCpuSampler } from './endpoints.js';
import type { JetStreamMonitor } from './jetstream.js';
import { MonitorQueryError } from './params.js';
import type { HealthStatus } from './types.js';

/** Why the server is not healthy right now, or null when it is. */
export type HealthProbe = () => string | null;

export class MonitorServer {
  private http: HttpServer | null = null;
  private boundPort = 0;
  private readonly reqStats: Record<string, number> = {};
  private readonly cpu = newCpuSampler();
  /** Set by reload: /varz config_load_time. */
  configLoadTime = new Date();

  constructor(
    private readonly server: Server,
    private readonly registry: Registry,
    private readonly health: HealthProbe,
    private readonly js: JetStreamMonitor,
  ) {}

  get port(): number {
    return this.boundPort;
  }

  get host(): string {
    return this.server.options.httpHost;
  }

  /** Listen on the configured host/port (-1 or 0 = any free port). */
  async start(): Promise<void> {
    const o = this.server.options;
    const http = createServer((req, res) => {
      this.handle(req, res).catch((e: unknown) => {
        this.server.logger.error(`monitoring: ${(e as Error).message}`);
        if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'text/plain' });
        res.end(`internal error: ${(e as Error).message}\n`);
      });
    });
    http.keepAliveTimeout = 5000;
    this.http = http;
    await new Promise<void>((resolve, reject) => {
      http.once('error', reject);
      http.listen({ host: o.httpHost, port: o.httpPort === -1 ? 0 : o.httpPort }, () => {
        http.off('error', reject);
        resolve();
      });
    });
    const addr = http.address();
    this.boundPort = typeof addr === 'object' && addr !== null ? addr.port : o.httpPort;
    this.server.logger.info(`Starting http monitor on ${hostPort(o.httpHost, this.boundPort)}`);
  }

  async close(): Promise<void> {
    const h = this.http;
    this.http = null;
    if (!h) return;
    h.closeAllConnections();
    await new Promise<void>((r) => h.close(() => r()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    let path = url.pathname;
    if (path.length > 1 && path.endsWith('/')) path = path.slice(0, -1);
    if (path === '/subscriptionsz') path = '/subsz';
    const q = url.searchParams;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { 'Content-Type': 'text/plain', Allow: 'GET, HEAD' });
      res.end('method not allowed\n');
      return;
    }
    const known = ['/', '/varz', '/connz', '/subsz', '/routez', '/jsz', '/healthz', '/metrics'];
    if (!known.includes(path)) {
      res.writeHead(404, { 'Content-Type': 'text/plain' });
      res.end('404 page not found\n');
      return;
    }
    this.reqStats[path] = (this.reqStats[path] ?? 0) + 1;
    try {
      switch (path) {
        case '/':
          return this.root(res);
        case '/varz':
          return json(
            res,
            200,
            buildVarz(this.server, {
              httpHost: this.host,
              httpPort: this.boundPort,
              httpReqStats: this.reqStats,
              configLoadTime: this.configLoadTime,
              cpu: this.cpu,
              jetstream: () => this.js.varz(),
            }),
          );
        case '/connz':
          return json(res, 200, buildConnz(this.server, q));
        case '/subsz':
          return json(res, 200, buildSubsz(this.server, q));
        case '/routez':
          return json(res, 200, buildRoutez(this.server, q));
        case '/jsz':
          return json(res, 200, this.js.jsz(q));
        case '/healthz':
          return this.healthz(res, q);
        case '/metrics': {
          const body = await this.registry.metrics();
          res.writeHead(200, { 'Content-Type': this.registry.contentType });
          res.end(body);
          return;
        }
      }
    } catch (e) {
      if (e instanceof MonitorQueryError) {
        res.writeHead(400, { 'Content-Type': 'text/plain; charset=utf-8', 'Access-Control-Allow-Origin': '*' });
        res.end(e.message);
        return;
      }
      throw e;
    }
  }

  private healthz(res: ServerResponse, q: URLSearchParams): void {
    // Parameters are checked first: a bad one is a 400 even on a healthy server.
    const jsProblem = this.js.health(q);
    const why = this.health();
    let code = 200;
    let body: HealthStatus = { status: 'ok' };
    if (why !== null) {
      code = 503;
      body = { status: 'unavailable', error: why };
    } else if (jsProblem) {
      code = jsProblem.code;
      body = jsProblem.body;
    }
    if (body.error) this.server.logger.warn(`Healthcheck failed: ${JSON.stringify(body.error)}`);
    // Compact like nats-server's healthz ({"status":"ok"}).
    res.writeHead(code, { 'Content-Type': 'application/json', 'Access-Control-Allow-Origin': '*' });
    res.end(JSON.stringify(body));
  }

  private root(res: ServerResponse): void {
    const links = ['varz', 'connz', 'routez', 'subsz', 'jsz', 'healthz', 'metrics'].map((p) => `<a href="./${p}">${p}</a><br/>`).join('\n');
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
    res.end(`<html><head><title>Tern monitoring</title></head><body>\n<h1>Tern ${this.server.serverName}</h1>\n${links}\n</body></html>\n`);
  }
}

// 2^64 as a double prints as 18446744073709552000; nats-server prints the
// uint64 maximum. Both parse to the same number, but tools diff the text.
const U64_MAX_TEXT = /: 18446744073709552000([,\n])/g;

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'Content-Type': 'application/json', 'Access-Control-Allow-Origin': '*' });
  res.end(JSON.stringify(body, null, 2).replace(U64_MAX_TEXT, ': 18446744073709551615$1'));
}
