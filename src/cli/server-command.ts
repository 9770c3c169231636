// Placeholder until the 'server' subcommand lands.
export async function main(_argv: string[], _commandName: string): Promise<number> {
  console.error("tern server: not implemented yet");
  return 1;
}
