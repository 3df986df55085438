/**
 * What of codeUri is staged (gateway/containment/code-tree.ts): a symlink stays only when the
 * kernel's walk of it ends inside codeUri, and comes back relative. No root needed.
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readCodeTree } from '../../gateway/containment/code-tree.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('code tree', () => {
  it('keeps files, directories and inside symlinks; skips links that leave codeUri or point at nothing', () => {
    const base = mkdtempSync(join(tmpdir(), 'edgefc-tree-'));
    dirs.push(base);
    const code = join(base, 'code');
    mkdirSync(join(code, 'lib', 'deep'), { recursive: true });
    writeFileSync(join(code, 'index.js'), 'x');
    writeFileSync(join(code, 'lib', 'deep', 'a.js'), 'a');
    writeFileSync(join(base, 'outside.txt'), 'secret');
    symlinkSync('lib/deep/a.js', join(code, 'inside'));
    symlinkSync(join(code, 'index.js'), join(code, 'absolute-inside'));
    symlinkSync('/etc/passwd', join(code, 'passwd'));
    symlinkSync('../outside.txt', join(code, 'up'));
    symlinkSync('missing.js', join(code, 'dangling'));
    // Lexically inside (x/y/s/../../.. is "."), but the kernel resolves s first: ../../lib
    // from the top climbs out of codeUri. realpath sees what the kernel sees.
    mkdirSync(join(code, 'x', 'y'), { recursive: true });
    symlinkSync('../../lib', join(code, 'x', 'y', 's'));
    symlinkSync('x/y/s/../../..', join(code, 'tricky'));

    const tree = readCodeTree(code);
    const links = Object.fromEntries(tree.entries.flatMap((entry) => (entry.kind === 'symlink' ? [[entry.path, entry.target]] : [])));
    expect(links).toEqual({ inside: 'lib/deep/a.js', 'absolute-inside': 'index.js', 'x/y/s': '../../lib' });
    expect(tree.skipped.sort()).toEqual([
      'dangling -> missing.js (points at nothing)',
      'passwd -> /etc/passwd (leaves codeUri)',
      'tricky -> x/y/s/../../.. (leaves codeUri)',
      `up -> ../outside.txt (leaves codeUri)`,
    ]);
    expect(tree.entries.filter((entry) => entry.kind !== 'symlink').map((entry) => entry.path)).toEqual([
      'index.js',
      'lib',
      'lib/deep',
      'lib/deep/a.js',
      'x',
      'x/y',
    ]);
  });
});
