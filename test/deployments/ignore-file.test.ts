import { describe, expect, test } from 'vitest';
import { IgnoreRules } from '../../gateway/deployments/ignore-file.js';

describe('.edgefcignore', () => {
  const rules = new IgnoreRules(['# comment', '', '*.log', '/build/', 'tmp/', 'docs/**/*.md', '!keep.log', 'a?c', 'x[0-9]'].join('\n'));

  test.each([
    ['app.log', false, true],
    ['fn/deep/app.log', false, true],
    ['keep.log', false, false],
    ['fn/keep.log', false, false],
    ['build', true, true],
    ['fn/build', true, false],
    ['build', false, false],
    ['tmp', true, true],
    ['fn/tmp', true, true],
    ['tmp', false, false],
    ['docs/a/b/c.md', false, true],
    ['docs/c.md', false, true],
    ['fn/docs/c.md', false, false],
    ['abc', false, true],
    ['abbc', false, false],
    ['x1', false, true],
    ['xa', false, false],
    ['node_modules', true, false],
  ])('%s (dir: %s) ignored: %s', (path, isDir, ignored) => {
    expect(rules.ignores(path, isDir)).toBe(ignored);
  });

  test('node_modules is packed unless named', () => {
    expect(new IgnoreRules('').ignores('fn/node_modules', true)).toBe(false);
    expect(new IgnoreRules('node_modules/').ignores('fn/node_modules', true)).toBe(true);
  });
});
