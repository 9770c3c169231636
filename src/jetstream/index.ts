// The JetStream subsystem as runServer loads it: attach(server) starts
// JetStream when opts.jetstream.enabled (recovering streams from store_dir),
// marks INFO with jetstream:true, and returns the close hook. jetStreamOf()
// gives monitoring the running instance (for /jsz and /metrics).
import type { Server } from '../server/server.js';
import type { ServerExtension } from '../server/run.js';
import { toWireSubject, type InternalClient } from '../server/internal-client.js';
import { PubArgs } from '../server/parser.js';
import type { Subscription } from '../server/subscription.js';
import { JetStream } from './manager.js';
import type { JsTransport } from './transport.js';

const running = new WeakMap<Server, JetStream>();
const CRLF = Buffer.from('\r\n', 'latin1');

/** The JetStream of a server, if it has one running. */
export function jetStreamOf(server: Server): JetStream | undefined {
  return running.get(server);
}

/** Adapts the broker's internal client to JetStream's transport. */
export function internalTransport(server: Server, ic: InternalClient): JsTransport {
  return {
    subscribe: (subject, queue, handler, o) => ic.subscribe(subject, queue, handler, o),
    unsubscribe: (sub) => ic.unsubscribe(sub as Subscription),
    publish: (subject, reply, hdr, payload) => {
      ic.publish(subject, reply, hdr, payload);
    },
    deliver: (target, subject, reply, hdr, payload) => {
      if (ic.closed) return;
      // The control line carries the shown subject; routing matches the target.
      const parts = [subject];
      if (reply) parts.push(reply);
      const hl = hdr ? hdr.length : -1;
      const total = (hdr ? hdr.length : 0) + payload.length;
      if (hdr) parts.push(String(hl));
      parts.push(String(total));
      const line = Buffer.from(parts.join(' '), 'utf8');
      const subjLen = Buffer.byteLength(subject, 'utf8');
      const replyLen = reply ? Buffer.byteLength(reply, 'utf8') : 0;
      const pa = new PubArgs();
      pa.buf = line;
      let p = 0;
      pa.subjStart = 0;
      pa.subjEnd = p += subjLen;
      p++;
      if (reply) {
        pa.replyStart = p;
        pa.replyEnd = p += replyLen;
        p++;
      }
      if (hdr) {
        pa.hdbStart = p;
        pa.hdbEnd = p += String(hl).length;
        p++;
      }
      pa.szbStart = p;
      pa.szbEnd = line.length;
      pa.hdr = hl;
      pa.size = total;
      pa.subject = toWireSubject(target);
      const data = hdr ? Buffer.concat([hdr, payload, CRLF]) : Buffer.concat([payload, CRLF]);
      server.stats.inMsgs++;
      server.stats.inBytes += total;
      server.processMessage(ic, server.sublist.match(pa.subject), pa, data, 0);
    },
    hasInterest: (subject) => {
      const r = server.sublist.match(subject);
      for (const s of r.psubs) if (s.owner !== ic) return true;
      for (const q of r.qsubs) for (const s of q) if (s.owner !== ic) return true;
      return false;
    },
  };
}

export async function attach(server: Server): Promise<ServerExtension> {
  const opts = server.options;
  if (!opts.jetstream.enabled) return { close: async () => {} };
  const log = server.logger;
  const ic = server.createInternalClient('jetstream');
  const js = new JetStream(internalTransport(server, ic), {
    storeDir: opts.jetstream.storeDir,
    maxMemory: opts.jetstream.maxMemoryStore,
    maxStore: opts.jetstream.maxFileStore,
    syncInterval: opts.jetstream.syncInterval,
    maxPayload: opts.maxPayload,
    log: (level, line) => (level === 'error' ? log.error(line) : level === 'warn' ? log.warn(line) : log.info(line)),
  });
  log.info('Starting JetStream');
  log.info(`  Store Directory: "${opts.jetstream.storeDir}"`);
  await js.start();
  // In a cluster, streams are spread over the nodes (R1): see cluster.ts.
  // Loaded only then, as run.ts loads subsystems only when configured.
  let jsCluster: { stop(): void } | undefined;
  if (opts.cluster !== undefined) {
    const [{ JsCluster }, { clusterOf }] = await Promise.all([import('./cluster.js'), import('../cluster/index.js')]);
    const c = new JsCluster(server, js, ic);
    const routeSubs: Subscription[] = [];
    for (const r of clusterOf(server)?.peers.values() ?? []) routeSubs.push(...r.subs.values());
    c.start(routeSubs);
    jsCluster = c;
    log.info(`  Clustered: streams live on the node that creates them (R1); this node is "${c.token}"`);
  }
  running.set(server, js);
  server.setInfoField('jetstream', true);
  log.info('JetStream started');
  return {
    close: async () => {
      jsCluster?.stop();
      running.delete(server);
      server.setInfoField('jetstream', undefined);
      await js.stop();
      ic.close();
    },
  };
}

export { JetStream } from './manager.js';
export type { Jsz, JszStream } from './manager.js';
