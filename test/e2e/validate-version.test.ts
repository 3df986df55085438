/**
 * Offline CLI verbs: `edgefc validate FILE` (the checks a start makes, exit 0/1, problems as
 * file:line:col) and `edgefc --version`.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runCli } from '../fixtures/cli-process.js';

const SAMPLES = fileURLToPath(new URL('../../functions/template.yml', import.meta.url));

describe('edgefc validate and version', () => {
  it('accepts the sample template', async () => {
    const { code, stdout } = await runCli(['validate', SAMPLES]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/ok, 2 service\(s\), 8 function\(s\)/);
    const json = await runCli(['validate', SAMPLES, '--json']);
    expect(JSON.parse(json.stdout)).toMatchObject({ ok: true, functions: 8 });
  });

  it('lists every problem as file:line:col and exits 1', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'edgefc-validate-'));
    const bad = join(dir, 'bad.yml');
    await writeFile(bad, 'edgefc: 1\nservices:\n  S:\n    functions:\n      f:\n        runtime: nodejs20\n        handler: index.handler\n        codeUri: ./nowhere\n        timeout: abc\n');
    const { code, stderr } = await runCli(['validate', bad]);
    expect(code).toBe(1);
    expect(stderr).toMatch(/bad\.yml:9:\d+: services\.S\.functions\.f\.timeout: /);
    expect(stderr).toMatch(/services\.S\.functions\.f\.codeUri/);
    const json = await runCli(['validate', bad, '--json']);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({ ok: false, problems: expect.arrayContaining([expect.objectContaining({ field: 'services.S.functions.f.timeout', line: 9 })]) });
    expect((await runCli(['validate'])).code).toBe(2);
  });

  it('prints its version', async () => {
    for (const args of [['--version'], ['version']]) {
      const { code, stdout } = await runCli(args);
      expect(code).toBe(0);
      expect(stdout).toMatch(/^edgefc \d+\.\d+\.\d+ \(node /);
    }
  });
});
