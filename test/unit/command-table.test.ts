/**
 * The command table (gateway/cli/command-table.ts) against what the CLI accepts and says: every
 * flag a command's parser takes is in its --help and in the completions, every flag its --help
 * names is one it takes, and a real bash completes every command, subcommand and flag.
 */
import { execFileSync } from 'node:child_process';
import { describe, expect, test } from 'vitest';
import { COMMANDS, flagsOf, offeredOptions, REFUSED_FLAGS } from '../../gateway/cli/command-table.js';
import { completionScript } from '../../gateway/cli/completion-scripts.js';
import { main } from '../../gateway/cli/edgefc.js';

function capture(): { out: string[]; err: string[]; output: { out: (t: string) => void; err: (t: string) => void } } {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, output: { out: (t) => out.push(t), err: (t) => err.push(t) } };
}

/** `--flag` words in a help text (not `--` alone, not inside a longer word). */
function flagsIn(text: string): Set<string> {
  return new Set([...text.matchAll(/(?<![\w-])--([a-z][a-z0-9-]*)/g)].map((m) => m[1] as string));
}

describe.each(COMMANDS.map((spec) => [spec.name, spec] as const))('edgefc %s', (name, spec) => {
  test('its --help names exactly the flags its parser takes (less the refused ones)', () => {
    const offered = offeredOptions(spec).filter((flag) => flag !== 'help');
    const named = flagsIn(spec.usage);
    expect(offered.filter((flag) => !named.has(flag)), 'flags missing from --help').toEqual([]);
    // The help may name a flag of another command it refers to ("edgefc start --max-bundle-bytes").
    const elsewhere = [...named].filter((flag) => !(flag in spec.options) && !new RegExp(`edgefc (\\w[\\w-]* )?--${flag}`).test(spec.usage));
    expect(elsewhere, 'flags in --help the parser does not take').toEqual([]);
  });

  test('its parser takes every flag of the table (with --help, so nothing runs)', async () => {
    const argv = [name];
    for (const flag of Object.keys(spec.options)) {
      if (flag === 'help' || REFUSED_FLAGS.has(flag)) continue;
      argv.push(`--${flag}`);
      if (spec.options[flag]?.type === 'string') argv.push('x');
    }
    const { err, output } = capture();
    expect(await main([...argv, '--help'], output), err.join('')).toBe(0);
  });

  test('the bash and zsh completions offer it and every flag', () => {
    for (const shell of ['bash', 'zsh'] as const) {
      const script = completionScript(shell);
      for (const word of [spec.name, ...(spec.aliases ?? []), ...(spec.subcommands ?? [])]) expect(script).toContain(word);
      for (const flag of flagsOf(spec)) expect(script, `${shell}: ${flag}`).toMatch(new RegExp(`[ '"*]${flag}[ '"=:]`));
    }
  });
});

/** Run the bash completion function on a command line (the word under the cursor last). */
function complete(...words: string[]): string[] {
  const line = words.map((w) => `'${w}'`).join(' ');
  const script = `${completionScript('bash')}\nCOMP_WORDS=(edgefc ${line}); COMP_CWORD=${words.length}; _edgefc; printf '%s\\n' "\${COMPREPLY[@]}"`;
  return execFileSync('bash', ['--norc', '--noprofile', '-c', script], { encoding: 'utf8' }).split('\n').filter(Boolean);
}

describe('bash completion, run by bash', () => {
  test('offers every command, alias and subcommand', () => {
    const commands = complete('');
    for (const spec of COMMANDS) for (const name of [spec.name, ...(spec.aliases ?? [])]) expect(commands).toContain(name);
    for (const spec of COMMANDS.filter((s) => s.subcommands !== undefined)) expect(complete(spec.name, '')).toEqual(expect.arrayContaining([...(spec.subcommands ?? [])]));
  });

  test('offers every flag of every command, and values where a flag has a set', () => {
    for (const spec of COMMANDS) {
      const offered = complete(spec.name, '-');
      expect(offered.sort(), spec.name).toEqual(flagsOf(spec).sort());
    }
    expect(complete('invocations', 'list', '--state', 'f')).toEqual(['failed']);
    expect(complete('start', '--log-format', '')).toEqual(['text', 'json']);
    expect(complete('logs', '--fo')).toEqual(['--follow']);
  });
});

describe('edgefc completion', () => {
  test('prints a script for bash and zsh; anything else is a usage error', async () => {
    for (const shell of ['bash', 'zsh']) {
      const { out, output } = capture();
      expect(await main(['completion', shell], output)).toBe(0);
      expect(out.join('')).toContain('_edgefc');
    }
    const { err, output } = capture();
    expect(await main(['completion', 'fish'], output)).toBe(2);
    expect(err.join('')).toMatch(/bash or zsh/);
  });

  test('the bash script is valid bash', () => {
    expect(() => execFileSync('bash', ['-n'], { input: completionScript('bash') })).not.toThrow();
  });
});
