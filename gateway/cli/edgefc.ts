/**
 * The `edgefc` command: run the gateway, and talk to a running one.
 */
import { pathToFileURL } from 'node:url';
import { INVOCATIONS_USAGE, runInvocations } from './commands/invocations.js';
import { INVOKE_USAGE, runInvoke } from './commands/invoke.js';
import { runDeploy } from './commands/deploy.js';
import { runDeployments, runRemove } from './commands/deployments.js';
import { runLogs } from './commands/logs.js';
import { runList, runStats } from './commands/list.js';
import { runStart } from './commands/start.js';
import { runUsers } from './commands/users.js';
import { runBrokerConfig } from './commands/broker-config.js';
import { runDescribe } from './commands/describe.js';
import { runValidate } from './commands/validate.js';
import { runVersion } from './commands/version.js';
import type { Output } from './commands/common.js';
import { UsageError } from './usage-error.js';

export const USAGE = `Usage: edgefc <command> [options]

Commands:
  start | gateway     run the gateway (embedded broker unless --broker is given)
  invoke S/F          invoke a function and print its result
  list                list the running gateway's services and functions
  stats               show the running gateway's per-function counters
  invocations         list, get or cancel the running gateway's Async invocations
  logs S/F            print a function's log (--follow, --request-id, --since; --local: from files)
  deploy              upload a template and its code to the running gateway (--template F),
                      roll back (--rollback [ID]) or make it read its template again
  deployments list    the deployments the gateway keeps; * marks the one it serves
  remove S/F          stop serving one function (a new deployment)
  users               add, list or remove who may connect (the access file)
  broker-config       write Mosquitto's password, ACL and config files from the access file
  describe S/F        show one function of the running gateway (spec, env names, latency)
  validate FILE       check a template offline (exit 0 good, 1 problems as file:line:col)
  version             print edgefc's version (also --version)

Run "edgefc <command> --help" for a command's options.
`;

type Command = (argv: string[], output: Output) => Promise<number>;

const COMMANDS: Record<string, Command> = {
  start: runStart,
  gateway: runStart,
  invoke: runInvoke,
  list: runList,
  stats: runStats,
  invocations: runInvocations,
  logs: runLogs,
  deploy: runDeploy,
  deployments: runDeployments,
  remove: runRemove,
  users: (argv, output) => runUsers(argv, output),
  'broker-config': runBrokerConfig,
  describe: runDescribe,
  validate: runValidate,
  version: runVersion,
  '--version': runVersion,
};

const stdio: Output = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
};

/** Run the CLI; resolves with the process exit code. */
export async function main(argv: string[], output: Output = stdio): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    output.out(USAGE);
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS[name];
  if (command === undefined) {
    output.err(`edgefc: unknown command "${name}"\n\n${USAGE}`);
    return 2;
  }
  try {
    return await command(rest, output);
  } catch (error) {
    // parseArgs throws TypeErrors with codes ERR_PARSE_ARGS_* for unknown or malformed options.
    const code = (error as { code?: unknown }).code;
    if (error instanceof UsageError || (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS'))) {
      output.err(`edgefc ${name}: ${(error as Error).message}\n${name === 'invoke' ? `\n${INVOKE_USAGE}` : name === 'invocations' ? `\n${INVOCATIONS_USAGE}` : ''}`);
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
