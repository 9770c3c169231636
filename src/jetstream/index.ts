// The JetStream subsystem as runServer loads it: attach(server) starts
// JetStream when opts.jetstream.enabled (recovering streams from store_dir),
// marks INFO with jetstream:true, and returns the close hook. jetStreamOf()
// gives monitoring the running instance (for /jsz and /metrics).
import type { Server } from '../server/server.js';
import type { ServerExtension } from '../server/run.js';
import type { InternalClient } from '../server/internal-client.js';
import type { Subscription } from '../server/subscription.js';
import { JetStream } from './manager.js';
import type { JsTransport } from './transport.js';

const running = new WeakMap<Server, JetStream>();

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
    publishOnce: (subject, reply, hdr, payload) => {
      ic.publishOnce(subject, reply, hdr, payload);
    },
    deliver: (target, subject, reply, hdr, payload, replyPrefix) => {
      // The control line carries the shown subject; routing matches the target.
      ic.publishShown(target, subject, reply, hdr, payload, replyPrefix);
    },
    flushNow: () => server.flushDirty(),
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
