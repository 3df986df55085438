/**
 * Every `edgefc` command in one table: its name and aliases, the line of the top-level help, its
 * subcommands, its own help text and the flags its parser accepts (the very objects each command
 * hands to `parseArgs`). The top-level help and the bash and zsh completions are made from it
 * (completion.ts), so none of them can drift from what the commands accept
 * (test/unit/command-table.test.ts checks each command's help against its flags both ways).
 */
import type { ParseArgsConfig } from 'node:util';
import { connectionOptions } from './connection.js';
import { BROKER_CONFIG_OPTIONS, BROKER_CONFIG_USAGE, runBrokerConfig } from './commands/broker-config.js';
import type { Output } from './commands/common.js';
import { CLUSTER_OPTIONS, CLUSTER_USAGE, runCluster } from './commands/cluster.js';
import { COMPLETION_OPTIONS, COMPLETION_USAGE, runCompletion } from './commands/completion.js';
import { DEPLOY_OPTIONS, DEPLOY_USAGE, runDeploy } from './commands/deploy.js';
import { DEPLOYMENTS_USAGE, REMOVE_USAGE, runDeployments, runRemove } from './commands/deployments.js';
import { DESCRIBE_USAGE, runDescribe } from './commands/describe.js';
import { IMPORT_OPTIONS, IMPORT_USAGE, runImport } from './commands/import.js';
import { INVOCATIONS_OPTIONS, INVOCATIONS_USAGE, runInvocations } from './commands/invocations.js';
import { INVOKE_OPTIONS, INVOKE_USAGE, runInvoke } from './commands/invoke.js';
import { LIST_USAGE, runList, runStats, STATS_USAGE } from './commands/list.js';
import { LOGS_OPTIONS, LOGS_USAGE, runLogs } from './commands/logs.js';
import { runStart, START_OPTIONS, START_USAGE } from './commands/start.js';
import { runUsers, USERS_OPTIONS, USERS_USAGE } from './commands/users.js';
import { runValidate, VALIDATE_OPTIONS, VALIDATE_USAGE } from './commands/validate.js';
import { runVersion, VERSION_OPTIONS, VERSION_USAGE } from './commands/version.js';
import { ALIASES_OPTIONS, ALIASES_USAGE, runAliases, runVersions, VERSIONS_OPTIONS, VERSIONS_USAGE } from './commands/versions.js';

export type Command = (argv: string[], output: Output) => Promise<number>;

export interface CommandSpec {
  name: string;
  aliases?: readonly string[];
  /** Its line(s) in `edgefc --help`, after the name and its arguments. */
  summary: string;
  /** Arguments shown after the name in `edgefc --help`, e.g. `S/F`. */
  args?: string;
  /** First positional words it takes (`invocations list`), for completion. */
  subcommands?: readonly string[];
  /** Its `--help`. */
  usage: string;
  options: Readonly<NonNullable<ParseArgsConfig['options']>>;
  run: Command;
}

export const COMMANDS: readonly CommandSpec[] = [
  { name: 'start', aliases: ['gateway'], summary: 'run the gateway (embedded broker unless --broker is given)', usage: START_USAGE, options: START_OPTIONS, run: runStart },
  { name: 'invoke', args: 'S/F', summary: 'invoke a function and print its result', usage: INVOKE_USAGE, options: INVOKE_OPTIONS, run: runInvoke },
  { name: 'list', summary: "list the running gateway's services and functions", usage: LIST_USAGE, options: connectionOptions, run: runList },
  { name: 'stats', summary: "show the running gateway's per-function counters", usage: STATS_USAGE, options: connectionOptions, run: runStats },
  {
    name: 'invocations',
    subcommands: ['list', 'get', 'cancel', 'stop'],
    summary: "list, get, cancel or stop the running gateway's Async invocations",
    usage: INVOCATIONS_USAGE,
    options: INVOCATIONS_OPTIONS,
    run: runInvocations,
  },
  { name: 'logs', args: 'S/F', summary: "print a function's log (--follow, --request-id, --since; --local: from files)", usage: LOGS_USAGE, options: LOGS_OPTIONS, run: runLogs },
  {
    name: 'deploy',
    summary: 'upload a template and its code to the running gateway (--template F),\nroll back (--rollback [ID]) or make it read its template again',
    usage: DEPLOY_USAGE,
    options: DEPLOY_OPTIONS,
    run: runDeploy,
  },
  { name: 'deployments', subcommands: ['list'], summary: 'the deployments the gateway keeps; * marks the one it serves', usage: DEPLOYMENTS_USAGE, options: connectionOptions, run: runDeployments },
  { name: 'versions', args: 'S', subcommands: ['publish', 'list', 'delete'], summary: "publish, list or delete a service's versions (frozen code and configuration)", usage: VERSIONS_USAGE, options: VERSIONS_OPTIONS, run: runVersions },
  { name: 'aliases', args: 'S', subcommands: ['create', 'update', 'delete', 'list'], summary: "create, update, delete or list a service's aliases (a version, or two weighted)", usage: ALIASES_USAGE, options: ALIASES_OPTIONS, run: runAliases },
  { name: 'remove', args: 'S/F', summary: 'stop serving one function (a new deployment)', usage: REMOVE_USAGE, options: connectionOptions, run: runRemove },
  { name: 'users', subcommands: ['add', 'list', 'remove'], summary: 'add, list or remove who may connect (the access file)', usage: USERS_USAGE, options: USERS_OPTIONS, run: (argv, output) => runUsers(argv, output) },
  { name: 'broker-config', subcommands: ['mosquitto'], summary: "write Mosquitto's password, ACL and config files from the access file", usage: BROKER_CONFIG_USAGE, options: BROKER_CONFIG_OPTIONS, run: runBrokerConfig },
  { name: 'cluster', subcommands: ['status'], summary: 'the gateways serving together, their load, and the NATS streams\' health', usage: CLUSTER_USAGE, options: CLUSTER_OPTIONS, run: runCluster },
  { name: 'describe', args: 'S/F', summary: 'show one function of the running gateway (spec, env names, latency)', usage: DESCRIBE_USAGE, options: connectionOptions, run: runDescribe },
  { name: 'validate', args: 'FILE', summary: 'check a template offline (exit 0 good, 1 problems as file:line:col)', usage: VALIDATE_USAGE, options: VALIDATE_OPTIONS, run: runValidate },
  { name: 'import', args: 'FILE', summary: 'convert a Serverless Devs s.yaml or Funcraft template.yml into an edgefc template once', usage: IMPORT_USAGE, options: IMPORT_OPTIONS, run: runImport },
  { name: 'completion', args: 'bash|zsh', subcommands: ['bash', 'zsh'], summary: 'print a shell completion script (source <(edgefc completion bash))', usage: COMPLETION_USAGE, options: COMPLETION_OPTIONS, run: runCompletion },
  { name: 'version', summary: "print edgefc's version (also --version)", usage: VERSION_USAGE, options: VERSION_OPTIONS, run: runVersion },
];

/** The command a word names (its name or an alias; `--version` is `version`). */
export function findCommand(word: string): CommandSpec | undefined {
  if (word === '--version') return COMMANDS.find((c) => c.name === 'version');
  return COMMANDS.find((c) => c.name === word || (c.aliases ?? []).includes(word));
}

/** Declared only so the parser can refuse them with a reason (a password in argv): never offered. */
export const REFUSED_FLAGS: ReadonlySet<string> = new Set(['password']);

/** The flag names a command offers: what its parser accepts, less the refused ones. */
export function offeredOptions(spec: CommandSpec): string[] {
  return Object.keys(spec.options).filter((name) => !REFUSED_FLAGS.has(name));
}

/** `--name` for each flag offered, and `-x` for its short form. */
export function flagsOf(spec: CommandSpec): string[] {
  const flags: string[] = [];
  for (const name of offeredOptions(spec)) {
    const config = spec.options[name];
    flags.push(`--${name}`);
    if (config?.short !== undefined) flags.push(`-${config.short}`);
  }
  return flags;
}

export function topLevelUsage(): string {
  const width = Math.max(...COMMANDS.map((c) => [c.name, ...(c.aliases ?? [])].join(' | ').length + (c.args === undefined ? 0 : c.args.length + 1)));
  const lines = COMMANDS.map((c) => {
    const head = [c.name, ...(c.aliases ?? [])].join(' | ') + (c.args === undefined ? '' : ` ${c.args}`);
    const [first = '', ...rest] = c.summary.split('\n');
    return [`  ${head.padEnd(width)}  ${first}`, ...rest.map((l) => `  ${''.padEnd(width)}  ${l}`)].join('\n');
  });
  return `Usage: edgefc <command> [options]

Commands:
${lines.join('\n')}

Run "edgefc <command> --help" for a command's options.
Exit codes: 0 success, 1 the operation failed, 2 a bad command line.
`;
}
