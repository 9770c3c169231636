// The `tern` command. Each subcommand lives in its own module and is loaded
// on demand, so `tern server` never loads the bridge's dependencies.
const USAGE = `Usage: tern <command> [options]

Commands:
  server   run the broker (nats-server compatible flags and config file)
  bridge   run the RabbitMQ/Kafka -> Tern migration bridge
  bench    benchmark any NATS server (nats-bench flags and report)

Run 'tern <command> --help' for the options of a command.`;

type CommandMain = (argv: string[], commandName: string) => Promise<number>;

async function load(cmd: string): Promise<CommandMain | undefined> {
  switch (cmd) {
    case 'server':
      return (await import('./server-command.js')).main;
    case 'bridge':
      return (await import('./bridge-command.js')).main;
    case 'bench':
      return (await import('./bench-command.js')).main;
    default:
      return undefined;
  }
}

async function run(): Promise<number> {
  const [cmd, ...rest] = process.argv.slice(2);
  if (!cmd || cmd === '-h' || cmd === '--help' || cmd === 'help') {
    console.log(USAGE);
    return cmd ? 0 : 1;
  }
  const main = await load(cmd);
  if (!main) {
    console.error(`tern: unknown command '${cmd}'\n\n${USAGE}`);
    return 1;
  }
  // nats-server names its ports file after the invoked program; bin/nats-server sets this.
  const commandName = process.env.TERN_COMMAND_NAME || 'tern';
  return main(rest, commandName);
}

run().then(
  (code) => {
    if (code !== 0) process.exitCode = code;
  },
  (err: unknown) => {
    console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
    process.exitCode = 1;
  },
);
