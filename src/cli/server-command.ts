// `tern server`: nats-server's command line. Parses flags, loads and validates
// the config file, handles -h/-v/-t/--signal, then hands the options to the
// broker (src/server/run.ts).
import { readFileSync } from 'node:fs';
import { ConfigError } from '../config/conf-parser.js';
import { FlagError, parseFlags, usage, type FlagValues } from '../config/flags.js';
import { ConfigErrors, loadOptions, type LoadResult } from '../config/load.js';
import type { ServerOptions } from '../config/options.js';
import { versionLine } from '../config/version.js';

type RunServer = (opts: ServerOptions, ctx: { commandName: string }) => Promise<number>;

/** nats-server's --signal commands and the signals they send. */
const SIGNALS: Record<string, NodeJS.Signals> = {
  stop: 'SIGKILL',
  quit: 'SIGINT',
  term: 'SIGTERM',
  reload: 'SIGHUP',
  reopen: 'SIGUSR1',
  ldm: 'SIGUSR2',
};

class CommandError extends Error {}

function readPid(arg: string): number {
  if (/^\d+$/.test(arg)) return Number(arg);
  let text: string;
  try {
    text = readFileSync(arg, 'utf8');
  } catch (e) {
    throw new CommandError(`could not read pid file ${arg}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  const pid = Number(text.trim());
  if (!Number.isInteger(pid) || pid <= 0) throw new CommandError(`pid file ${arg} does not hold a pid: "${text.trim()}"`);
  return pid;
}

function sendSignal(spec: string, pidFile: string): void {
  const eq = spec.indexOf('=');
  const cmd = eq < 0 ? spec : spec.slice(0, eq);
  const target = eq < 0 ? '' : spec.slice(eq + 1);
  const sig = SIGNALS[cmd];
  if (!sig) throw new CommandError(`unknown signal "${cmd}" (expected one of: ${Object.keys(SIGNALS).join(', ')})`);
  const source = target || pidFile;
  if (!source) {
    throw new CommandError(`--signal ${cmd}: no process given; use --signal ${cmd}=<pid|pidfile>, or a pid file (-P or pidfile in the config)`);
  }
  const pid = readPid(source);
  try {
    process.kill(pid, sig);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ESRCH') throw new CommandError(`no process with pid ${pid}`);
    if (code === 'EPERM') throw new CommandError(`not permitted to signal pid ${pid}`);
    throw e;
  }
}

async function loadRunServer(): Promise<RunServer | undefined> {
  // A computed specifier: the broker module may not exist yet while this one must compile.
  const spec = '../server/run.js';
  try {
    const mod = (await import(spec)) as { runServer?: RunServer };
    return mod.runServer;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ERR_MODULE_NOT_FOUND' && String((e as Error).message).includes('run.js')) return undefined;
    throw e;
  }
}

function printDiagnostics(prefix: string, r: Pick<LoadResult, 'warnings' | 'notices'>): void {
  for (const w of r.warnings) console.error(`${prefix}: warning: ${w.message}`);
  for (const n of r.notices) console.error(`${prefix}: notice: ${n.message}`);
}

export async function main(argv: string[], commandName: string): Promise<number> {
  const prefix = commandName;
  let flags: FlagValues;
  try {
    const parsed = parseFlags(argv);
    flags = parsed.values;
    // nats-server accepts `version` and `help` as words after the flags.
    for (const word of parsed.rest) {
      if (word === 'version') flags.version = true;
      else if (word === 'help') flags.help = true;
      else throw new FlagError(`unrecognized command: "${word}"`);
    }
  } catch (e) {
    if (e instanceof FlagError) {
      console.error(`${prefix}: ${e.message}\nRun '${commandName === 'tern' ? 'tern server' : commandName} --help' for the list of options.`);
      return 1;
    }
    throw e;
  }
  if (flags.version) {
    console.log(versionLine());
    return 0;
  }
  if (flags.help) {
    console.log(usage(commandName));
    return 0;
  }
  if (flags.checkConfig && !flags.configFile) {
    console.error(`${prefix}: must specify [-c, --config] option to check configuration file syntax`);
    return 1;
  }

  let loaded: LoadResult;
  try {
    loaded = loadOptions({ flags });
  } catch (e) {
    if (e instanceof ConfigErrors) {
      for (const w of e.warnings) console.error(`${prefix}: warning: ${w.message}`);
      for (const err of e.errors) console.error(`${prefix}: ${err.message}`);
      return 1;
    }
    if (e instanceof ConfigError) {
      console.error(`${prefix}: ${e.message}`);
      return 1;
    }
    throw e;
  }

  if (flags.checkConfig) {
    // As nats-server: warnings fail the test (the server itself would start).
    printDiagnostics(prefix, loaded);
    if (loaded.warnings.length > 0) return 1;
    console.error(`${prefix}: configuration file ${flags.configFile} is valid (${loaded.digest})`);
    return 0;
  }

  if (flags.signal !== undefined) {
    try {
      sendSignal(flags.signal, loaded.options.pidFile);
    } catch (e) {
      if (e instanceof CommandError) {
        console.error(`${prefix}: ${e.message}`);
        return 1;
      }
      throw e;
    }
    return 0;
  }

  printDiagnostics(prefix, loaded);
  const runServer = await loadRunServer();
  if (!runServer) {
    console.error(`${prefix}: the broker is not built into this version yet (src/server/run.ts missing)`);
    return 1;
  }
  return runServer(loaded.options, { commandName });
}
