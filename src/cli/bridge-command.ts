// `tern bridge [--config file] [--mappings dir]` runs the migration bridge;
// `tern bridge plan [...] [--sample JSON]` prints what it would declare and where sample
// messages would go, without moving anything.
import { loadAll, startBridge } from '../bridge/bridge.js';
import { renderPlan, type Sample } from '../bridge/plan.js';

const USAGE = `Usage: tern bridge [plan] [options]

  --config FILE     bridge config (YAML or JSON); env TERN_BRIDGE_* overrides it
  --mappings PATH   mappings directory or file (default: mappings/)
  --sample JSON     plan only: tokens of a sample message, e.g.
                    '{"tokens":{"routingKey":"order.eu.created","messageId":"m1"}}'
  -h, --help        this help

Subcommands:
  plan              validate config and mappings, print the topology and routing`;

export async function main(argv: string[], commandName: string): Promise<number> {
  const args = [...argv];
  let planMode = false;
  if (args[0] === 'plan') {
    planMode = true;
    args.shift();
  }
  let file: string | undefined;
  let mappingsPath: string | undefined;
  let sample: Sample | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const value = (): string => {
      const v = args[++i];
      if (v === undefined) throw new UsageError(`${a} needs a value`);
      return v;
    };
    try {
      if (a === '-h' || a === '--help') {
        console.log(USAGE);
        return 0;
      } else if (a === '--config' || a === '-c') file = value();
      else if (a === '--mappings') mappingsPath = value();
      else if (a === '--sample' && planMode) {
        const parsed = JSON.parse(value()) as Sample;
        if (typeof parsed !== 'object' || parsed === null || typeof parsed.tokens !== 'object') throw new UsageError('--sample must be {"tokens": {...}, "headers": {...}}');
        sample = parsed;
      } else throw new UsageError(`unknown option ${a}`);
    } catch (e) {
      console.error(`${commandName} bridge: ${(e as Error).message}\n\n${USAGE}`);
      return 2;
    }
  }
  const opts = { file, overrides: mappingsPath ? { mappings: mappingsPath } : undefined };
  try {
    if (planMode) {
      const { config, mappings, connections } = await loadAll(opts);
      process.stdout.write(renderPlan(config, mappings, connections, sample));
      return 0;
    }
    const bridge = await startBridge(opts);
    return await new Promise<number>((resolve) => {
      const onSignal = (sig: string): void => {
        process.off('SIGTERM', onTerm);
        process.off('SIGINT', onInt);
        process.stderr.write(JSON.stringify({ time: new Date().toISOString(), level: 'info', msg: `received ${sig}` }) + '\n');
        bridge.stop().then(
          () => resolve(0),
          () => resolve(1),
        );
      };
      const onTerm = (): void => onSignal('SIGTERM');
      const onInt = (): void => onSignal('SIGINT');
      process.on('SIGTERM', onTerm);
      process.on('SIGINT', onInt);
    });
  } catch (e) {
    console.error(`${commandName} bridge: ${(e as Error).message}`);
    return 1;
  }
}

class UsageError extends Error {}
