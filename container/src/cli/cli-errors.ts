/** A mistake in how the command was called: reported in one line, exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Runs a CLI's main, mapping usage errors to exit 2 and other failures to exit 1, one line each. */
export function runCli(name: string, main: (argv: string[]) => Promise<void>): void {
  main(process.argv.slice(2)).then(
    () => process.exit(0),
    (error: unknown) => {
      const message = error instanceof Error ? error.message : String(error);
      const hint = error instanceof UsageError ? ' (run with --help for usage)' : '';
      process.stderr.write(`${name}: ${message.split('\n')[0]}${hint}\n`);
      process.exit(error instanceof UsageError ? 2 : 1);
    },
  );
}
