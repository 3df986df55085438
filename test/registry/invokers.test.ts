import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadTemplate } from '../../gateway/registry/load-template.js';

const HELLO = new URL('../../functions/helloworld', import.meta.url).pathname;
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'edgefc-invokers-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function load(invokers: string): Promise<unknown> {
  const file = join(dir, 'template.yml');
  await writeFile(file, `edgefc: 1\nservices:\n  S:\n    functions:\n      F:\n        runtime: nodejs20\n        handler: index.handler\n        codeUri: ${JSON.stringify(HELLO)}\n        invokers: ${invokers}\n`);
  return loadTemplate(file);
}

describe('invokers in the template', () => {
  it('takes every documented form', async () => {
    const template = (await load("['*', devices, functions, 'device:s-1', 'group:line-3', 'service:S', 'function:S/F']")) as { functions: { invokers: string[] }[] };
    expect(template.functions[0]?.invokers).toHaveLength(7);
  });

  it('refuses unknown forms and bad names with the field\'s line', async () => {
    await expect(load("[everyone, 'device:bad_name', 'function:S']")).rejects.toThrow(
      /template\.yml:\d+:\d+: services\.S\.functions\.F\.invokers\.0: "everyone" is not one of.*invokers\.1: "device:bad_name".*invokers\.2: "function:S": must be function:SERVICE\/FUNCTION/s,
    );
    await expect(load('[]')).rejects.toThrow(/invokers: must be a non-empty list/);
  });
});
