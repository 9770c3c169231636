// Placeholder until the 'bridge' subcommand lands.
export async function main(_argv: string[], _commandName: string): Promise<number> {
  console.error("tern bridge: not implemented yet");
  return 1;
}
