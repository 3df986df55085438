/**
 * Bash and zsh completion scripts, made from the command table (command-table.ts): every
 * command, alias, subcommand and flag it holds, and the values some flags take.
 */
import { InvocationState } from '../async/invocation-record.js';
import { STORE_SYNC_MODES } from '../async/async-store.js';
import { COMMANDS, flagsOf, offeredOptions, type CommandSpec } from './command-table.js';
import { LOG_LEVELS } from './commands/start.js';

type Hint = 'file' | 'dir' | readonly string[];

/** What a flag's value is, where a shell can offer it; other string flags get nothing. */
const VALUE_HINTS: Record<string, Hint> = {
  template: 'file',
  file: 'file',
  credentials: 'file',
  'password-file': 'file',
  ca: 'file',
  cert: 'file',
  key: 'file',
  access: 'file',
  'tls-cert': 'file',
  'tls-key': 'file',
  'tls-ca': 'file',
  'on-gateway': 'file',
  data: 'dir',
  out: 'dir',
  'trusted-templates': 'dir',
  state: Object.values(InvocationState),
  role: ['device', 'operator'],
  'log-level': LOG_LEVELS,
  'log-format': ['text', 'json'],
  'store-sync': STORE_SYNC_MODES,
};

/** Commands whose positional arguments are files. */
const FILE_ARGUMENTS = new Set(['validate']);

export const SHELLS = ['bash', 'zsh'] as const;
export type Shell = (typeof SHELLS)[number];

export function completionScript(shell: Shell): string {
  return shell === 'bash' ? bashScript() : zshScript();
}

const names = (spec: CommandSpec): string[] => [spec.name, ...(spec.aliases ?? [])];
const takesValue = (spec: CommandSpec, flag: string): boolean => spec.options[flag]?.type === 'string';

function bashScript(): string {
  const words = [...COMMANDS.flatMap(names), 'help', '--help', '--version'].join(' ');
  const valueFlags = new Map<string, string>();
  for (const spec of COMMANDS) {
    for (const flag of offeredOptions(spec)) {
      const hint = VALUE_HINTS[flag];
      if (!takesValue(spec, flag) || hint === undefined) continue;
      valueFlags.set(flag, hint === 'file' ? 'compgen -f -- "$cur"' : hint === 'dir' ? 'compgen -d -- "$cur"' : `compgen -W "${hint.join(' ')}" -- "$cur"`);
    }
  }
  const valueCases = [...valueFlags].map(([flag, gen]) => `    --${flag}) COMPREPLY=($(${gen})); return ;;`).join('\n');
  const commandCases = COMMANDS.map((spec) => {
    const subs = spec.subcommands?.join(' ') ?? '';
    return `    ${names(spec).join('|')}) opts="${flagsOf(spec).join(' ')}"; subs="${subs}"; files=${FILE_ARGUMENTS.has(spec.name) ? 1 : 0} ;;`;
  }).join('\n');
  return `# edgefc bash completion, made by "edgefc completion bash" from its command table.
# Load it with: source <(edgefc completion bash)   (or save it under /etc/bash_completion.d/)
_edgefc() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="" opts="" subs="" files=0
  (( COMP_CWORD > 0 )) && prev="\${COMP_WORDS[COMP_CWORD-1]}"
  COMPREPLY=()
  if (( COMP_CWORD == 1 )); then
    COMPREPLY=($(compgen -W "${words}" -- "$cur"))
    return
  fi
  case "$prev" in
${valueCases}
  esac
  case "\${COMP_WORDS[1]}" in
${commandCases}
    *) return ;;
  esac
  if [[ "$cur" == -* ]]; then
    COMPREPLY=($(compgen -W "$opts" -- "$cur"))
  elif [[ -n "$subs" ]] && (( COMP_CWORD == 2 )); then
    COMPREPLY=($(compgen -W "$subs" -- "$cur"))
  elif (( files == 1 )); then
    COMPREPLY=($(compgen -f -- "$cur"))
  fi
}
complete -F _edgefc edgefc
`;
}

/** A zsh `_arguments` spec for one flag: `--name[]` or `--name=[]:value:action`. */
function zshFlag(spec: CommandSpec, flag: string): string[] {
  const config = spec.options[flag];
  const hint = VALUE_HINTS[flag];
  const action = hint === 'file' ? '_files' : hint === 'dir' ? '_files -/' : hint === undefined ? ' ' : `(${hint.join(' ')})`;
  const value = takesValue(spec, flag) ? `:${flag}:${action}` : '';
  const repeat = config?.multiple === true ? '*' : '';
  const specs = [`'${repeat}--${flag}${value}'`];
  if (config?.short !== undefined) specs.push(`'${repeat}-${config.short}${value}'`);
  return specs;
}

function zshScript(): string {
  const described = COMMANDS.flatMap((spec) => names(spec).map((name) => `    '${name}:${spec.summary.split('\n')[0]?.replaceAll("'", "'\\''").replaceAll(':', '\\:') ?? ''}'`));
  const cases = COMMANDS.map((spec) => {
    const flags = offeredOptions(spec).flatMap((flag) => zshFlag(spec, flag));
    const positional = spec.subcommands !== undefined ? `'1:subcommand:(${spec.subcommands.join(' ')})' '*:argument: '` : FILE_ARGUMENTS.has(spec.name) ? `'*:file:_files'` : `'*:argument: '`;
    return `    ${names(spec).join('|')})\n      _arguments -s ${flags.join(' ')} ${positional} ;;`;
  }).join('\n');
  return `#compdef edgefc
# edgefc zsh completion, made by "edgefc completion zsh" from its command table.
# Load it with: source <(edgefc completion zsh)   (after compinit), or save it as _edgefc in your $fpath.
_edgefc() {
  local -a commands
  commands=(
${described.join('\n')}
  )
  if (( CURRENT == 2 )); then
    _describe -t commands 'edgefc command' commands
    return
  fi
  local command="\${words[2]}"
  shift words
  (( CURRENT-- ))
  case "$command" in
${cases}
  esac
}
# Autoloaded from $fpath: complete now; sourced: register.
if [[ "\${funcstack[1]}" == _edgefc ]]; then
  _edgefc "$@"
else
  compdef _edgefc edgefc
fi
`;
}
