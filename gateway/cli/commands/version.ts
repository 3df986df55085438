/**
 * `edgefc version` and `edgefc --version`: the package's version, from its package.json.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { PACKAGE_ROOT } from '../../package-root.js';
import { UsageError } from '../usage-error.js';
import type { Output } from './common.js';

export const VERSION_USAGE = `Usage: edgefc version [--json]      (also: edgefc --version)

Print edgefc's version and Node.js's.

Options:
  --json              {"version", "node"}
`;

/** What the parser accepts; also the command table's flags (command-table.ts: help, completion). */
export const VERSION_OPTIONS = { json: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h', default: false } } as const;

export async function runVersion(argv: string[], output: Output): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: VERSION_OPTIONS });
  if (values.help) {
    output.out(VERSION_USAGE);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected arguments: ${positionals.join(' ')}`);
  const { version } = JSON.parse(await readFile(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string };
  if (values.json) output.out(`${JSON.stringify({ version, node: process.versions.node })}\n`);
  else output.out(`edgefc ${version} (node ${process.versions.node})\n`);
  return 0;
}
