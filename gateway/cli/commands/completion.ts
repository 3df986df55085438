/**
 * `edgefc completion bash|zsh`: print a completion script made from the command table, so it
 * offers exactly the commands and flags the CLI accepts (completion-scripts.ts).
 */
import { parseArgs } from 'node:util';
import { UsageError } from '../usage-error.js';
import type { Output } from './common.js';

export const COMPLETION_USAGE = `Usage: edgefc completion bash|zsh

Print a shell completion script for edgefc's commands, subcommands and flags.

  source <(edgefc completion bash)     # in ~/.bashrc
  source <(edgefc completion zsh)      # in ~/.zshrc, after compinit

Options:
  --help, -h          this text
`;

/** What the parser accepts; also the command table's flags (command-table.ts: help, completion). */
export const COMPLETION_OPTIONS = { help: { type: 'boolean', short: 'h', default: false } } as const;

export async function runCompletion(argv: string[], output: Output): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: COMPLETION_OPTIONS });
  if (values.help) {
    output.out(COMPLETION_USAGE);
    return 0;
  }
  // Loaded when asked for: the scripts read the command table, which names this command.
  const { completionScript, SHELLS } = await import('../completion-scripts.js');
  const [shell, ...rest] = positionals;
  if (shell === undefined || rest.length > 0 || !(SHELLS as readonly string[]).includes(shell)) {
    throw new UsageError(`give one shell: ${SHELLS.join(' or ')}`);
  }
  output.out(completionScript(shell as (typeof SHELLS)[number]));
  return 0;
}
