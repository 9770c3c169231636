// runServer: the process around a Server. Logs the nats-server startup
// banner, starts the client listener and the optional subsystems, writes the
// pid file and the ports file, and shuts down on SIGINT/SIGTERM.
//
// Optional subsystems are plain modules, so adding one never touches this
// file's callers: each of SUBSYSTEMS exports
//   attach(server: Server): Promise<ServerExtension>
// and is started after the client listener, in this order, before
// "Server is ready". A subsystem's module is
// imported only when the configuration turns it on: loading monitoring
// (prom-client, node:http), cluster and JetStream costs ~25 MiB RSS and
// ~60 ms of start-up that a plain broker does not need.
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ServerOptions } from '../config/options.js';
import { NATS_COMPAT_VERSION, TERN_VERSION } from '../config/version.js';
import { enterLameDuck, isLameDuck } from './lame-duck.js';
import { Logger } from './logger.js';
import { reloadOrLog } from './reload.js';
import { Server } from './server.js';

export interface ServerExtension {
  /** Ports-file entries this subsystem listens on, e.g. { monitoring: ['http://127.0.0.1:8222'] }. */
  ports?: Record<string, string[]>;
  /** Called on shutdown, before clients are closed. */
  close(): Promise<void>;
}

export type AttachFn = (server: Server) => Promise<ServerExtension>;

/** Module specifiers relative to this file, each with the options that turn it on. */
const SUBSYSTEMS: ReadonlyArray<{ spec: string; enabled(o: ServerOptions): boolean }> = [
  { spec: '../cluster/index.js', enabled: (o) => o.cluster !== undefined },
  { spec: '../jetstream/index.js', enabled: (o) => o.jetstream.enabled },
  { spec: './monitor/index.js', enabled: (o) => o.httpPort !== 0 },
];

async function loadAttach(spec: string): Promise<AttachFn> {
  const mod = (await import(spec)) as { attach?: AttachFn };
  if (typeof mod.attach !== 'function') throw new Error(`${spec} does not export attach()`);
  return mod.attach;
}

export interface RunningTern {
  server: Server;
  /** Resolves with the exit code once the server has shut down. */
  done: Promise<number>;
  /** Shut down as on SIGTERM. */
  shutdown(): Promise<void>;
  /** Lame duck mode as on SIGUSR2: drain clients over lame_duck_duration, then shut down. */
  lameDuck(): Promise<void>;
  /** Reload the config file as on SIGHUP; false (and logged) when the old config stays. */
  reload(): boolean;
}

/** Start everything; the caller decides how the process ends (tests use this directly). */
export async function startTern(opts: ServerOptions, ctx: { commandName: string; handleSignals?: boolean }): Promise<RunningTern> {
  const logger = new Logger({ debug: opts.debug, trace: opts.trace, logtime: opts.logtime, logFile: opts.logFile });
  const server = new Server(opts, logger);
  logger.info(`Starting nats-server (tern ${TERN_VERSION})`);
  logger.info(`  Version:  ${NATS_COMPAT_VERSION}`);
  logger.info(`  Git:      [not set]`);
  logger.info(`  Name:     ${server.serverName}`);
  logger.info(`  ID:       ${server.serverId}`);
  if (opts.configFile) logger.info(`Using configuration file: ${opts.configFile}`);

  await server.start();
  const extensions: ServerExtension[] = [];
  const ports: Record<string, string[]> = { nats: server.clientUrls() };
  for (const { spec, enabled } of SUBSYSTEMS) {
    if (!enabled(opts)) continue;
    const attach = await loadAttach(spec);
    const ext = await attach(server);
    extensions.push(ext);
    for (const [k, v] of Object.entries(ext.ports ?? {})) ports[k] = [...(ports[k] ?? []), ...v];
  }

  let pidFile = '';
  if (opts.pidFile) {
    writeFileSync(opts.pidFile, String(process.pid));
    pidFile = opts.pidFile;
  }
  let portsFile = '';
  if (opts.portsFileDir) {
    portsFile = join(opts.portsFileDir, `${ctx.commandName}_${process.pid}.ports`);
    writeFileSync(portsFile, JSON.stringify(ports));
  }
  logger.info('Server is ready');

  let resolveDone!: (code: number) => void;
  const done = new Promise<number>((r) => (resolveDone = r));
  let stopping: Promise<void> | null = null;
  const onSignal = (sig: NodeJS.Signals): void => {
    // nats-server ignores SIGTERM while in lame duck mode: the drain finishes on its own.
    if (sig === 'SIGTERM' && isLameDuck(server)) return;
    logger.info(`Trapped "${sig === 'SIGINT' ? 'interrupt' : 'terminated'}" signal`);
    void shutdown();
  };
  const lameDuck = async (): Promise<void> => {
    if (isLameDuck(server) || stopping) return;
    await enterLameDuck(server);
    await shutdown();
  };
  const reload = (): boolean => reloadOrLog(server);
  const onHup = (): void => void reload();
  const onUsr2 = (): void => void lameDuck();
  const onUsr1 = (): void => logger.reconfigure({ debug: opts.debug, trace: opts.trace, logtime: opts.logtime, logFile: opts.logFile });
  const shutdown = (): Promise<void> => {
    stopping ??= (async () => {
      logger.info('Initiating Shutdown...');
      for (const ext of extensions.reverse()) {
        try {
          await ext.close();
        } catch (e) {
          logger.error(`shutdown: ${(e as Error).message}`);
        }
      }
      await server.shutdown();
      if (pidFile) rmSync(pidFile, { force: true });
      if (portsFile) rmSync(portsFile, { force: true });
      logger.info('Server Exiting..');
      logger.close();
      if (ctx.handleSignals) {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
        process.off('SIGHUP', onHup);
        process.off('SIGUSR2', onUsr2);
        process.off('SIGUSR1', onUsr1);
      }
      resolveDone(0);
    })();
    return stopping;
  };
  if (ctx.handleSignals) {
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    process.on('SIGHUP', onHup);
    process.on('SIGUSR2', onUsr2);
    process.on('SIGUSR1', onUsr1);
  }
  return { server, done, shutdown, lameDuck, reload };
}

/** The `tern server` entry: runs until SIGINT/SIGTERM and resolves with the exit code. */
export async function runServer(opts: ServerOptions, ctx: { commandName: string }): Promise<number> {
  let running: RunningTern;
  try {
    running = await startTern(opts, { commandName: ctx.commandName, handleSignals: true });
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const msg = err.code === 'EADDRINUSE' ? `Error listening on port: ${opts.host}:${opts.port}, "address already in use"` : err.message;
    process.stderr.write(`[${process.pid}] [FTL] ${msg}\n`);
    return 1;
  }
  return running.done;
}
