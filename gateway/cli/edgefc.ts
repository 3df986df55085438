/**
 * The `edgefc` command: run the gateway, and talk to a running one.
 */
import { pathToFileURL } from 'node:url';
import type { Output } from './commands/common.js';
import { findCommand, topLevelUsage } from './command-table.js';
import { UsageError } from './usage-error.js';

export const USAGE = topLevelUsage();

const stdio: Output = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
};

/** Run the CLI; resolves with the process exit code. */
export async function main(argv: string[], output: Output = stdio): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined) {
    // A usage error like any other: on stderr, exit 2.
    output.err(USAGE);
    return 2;
  }
  if (name === '--help' || name === '-h' || name === 'help') {
    output.out(USAGE);
    return 0;
  }
  const command = findCommand(name);
  if (command === undefined) {
    output.err(`edgefc: unknown command "${name}"\n\n${USAGE}`);
    return 2;
  }
  try {
    return await command.run(rest, output);
  } catch (error) {
    // parseArgs throws TypeErrors with codes ERR_PARSE_ARGS_* for unknown or malformed options.
    const code = (error as { code?: unknown }).code;
    if (error instanceof UsageError || (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS'))) {
      // invoke and invocations are the commands people mistype most: their options follow at once.
      const usage = command.name === 'invoke' || command.name === 'invocations' ? `\n${command.usage}` : `Run "edgefc ${command.name} --help" for its options.\n`;
      output.err(`edgefc ${name}: ${(error as Error).message}\n${usage}`);
      return 2;
    }
    throw error;
  }
}

/**
 * The process entry (bin/edgefc.js): run the command, then end the process as it needs. Once a
 * gateway has stopped nothing of the process is left to run; but functions that ran inside it
 * (isolation: none) may have left timers or connections of their own that would keep it alive,
 * so `start` ends it explicitly (stdout and stderr are synchronous on Linux: nothing is cut off).
 */
export async function runAsProcess(argv: string[]): Promise<void> {
  let code: number;
  try {
    code = await main(argv);
  } catch (error) {
    process.stderr.write(`edgefc: unexpected failure: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    code = 1;
  }
  process.exitCode = code;
  if (argv[0] === 'start' || argv[0] === 'gateway') process.exit(code);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  void runAsProcess(process.argv.slice(2));
}
