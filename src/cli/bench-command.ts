// Placeholder until the 'bench' subcommand lands.
export async function main(_argv: string[], _commandName: string): Promise<number> {
  console.error("tern bench: not implemented yet");
  return 1;
}
