/**
 * `edgefc version` and `edgefc --version`: the package's version, from its package.json.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../../package-root.js';
import type { Output } from './common.js';

export async function runVersion(argv: string[], output: Output): Promise<number> {
  const { version } = JSON.parse(await readFile(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string };
  if (argv.includes('--json')) output.out(`${JSON.stringify({ version, node: process.versions.node })}\n`);
  else output.out(`edgefc ${version} (node ${process.versions.node})\n`);
  return 0;
}
