import { mkdir, readFile, rm, writeFile, chmod } from 'node:fs/promises';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { ErrorCode } from '../../src/index.js';
import { decodeBundle, encodeBundle } from '../../gateway/deployments/bundle-format.js';
import { packTemplate } from '../../gateway/deployments/pack-bundle.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'edgefc-bundle-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const TEMPLATE = `edgefc: 1
services:
  App:
    functions:
      hello:
        runtime: nodejs20
        handler: index.handler
        codeUri: ./hello
      web:
        runtime: custom
        handler: bootstrap
        codeUri: ./web
`;

async function project(ignore?: string): Promise<string> {
  await mkdir(join(dir, 'hello/node_modules/dep'), { recursive: true });
  await mkdir(join(dir, 'hello/logs'), { recursive: true });
  await mkdir(join(dir, 'web'), { recursive: true });
  await mkdir(join(dir, 'unrelated'), { recursive: true });
  await writeFile(join(dir, 'template.yml'), TEMPLATE);
  await writeFile(join(dir, 'hello/index.js'), 'exports.handler = (e, c, cb) => cb(null, "hi");\n');
  await writeFile(join(dir, 'hello/node_modules/dep/index.js'), 'module.exports = 1;\n');
  await writeFile(join(dir, 'hello/logs/run.log'), 'x'.repeat(100));
  await writeFile(join(dir, 'web/bootstrap'), '#!/bin/sh\n');
  await chmod(join(dir, 'web/bootstrap'), 0o755);
  await writeFile(join(dir, 'unrelated/secret.txt'), 'not a function\'s code');
  if (ignore !== undefined) await writeFile(join(dir, '.edgefcignore'), ignore);
  return join(dir, 'template.yml');
}

describe('packTemplate', () => {
  test('packs the template and each code directory, node_modules included, nothing else', async () => {
    const packed = await packTemplate(await project());
    const bundle = decodeBundle(packed.bytes);
    expect(bundle.template).toBe('template.yml');
    expect(bundle.files.map((f) => f.path)).toEqual([
      'hello/index.js',
      'hello/logs/run.log',
      'hello/node_modules/dep/index.js',
      'template.yml',
      'web/bootstrap',
    ]);
    expect(bundle.files.find((f) => f.path === 'web/bootstrap')?.mode).toBe(0o755);
    expect(bundle.files.find((f) => f.path === 'hello/index.js')?.mode).toBe(0o644);
    expect(packed.functions).toEqual(['App/hello', 'App/web']);
    expect(packed.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  test('.edgefcignore leaves files out; the same tree packs to the same sha256', async () => {
    const file = await project('*.log\nnode_modules/\n');
    const first = await packTemplate(file);
    expect(decodeBundle(first.bytes).files.map((f) => f.path)).toEqual(['hello/index.js', 'template.yml', 'web/bootstrap']);
    const again = await packTemplate(file);
    expect(again.sha256).toBe(first.sha256);
  });

  test('a bad template is refused with file:line:col before anything is packed', async () => {
    const file = await project();
    await writeFile(file, TEMPLATE.replace('handler: index.handler', 'handler: index.handler\n        timeout: forever'));
    await expect(packTemplate(file)).rejects.toThrow(/template\.yml:\d+:\d+: services\.App\.functions\.hello\.timeout/);
  });

  test('past the size limit: refused, naming the limit', async () => {
    await expect(packTemplate(await project(), { maxBytes: 200 })).rejects.toMatchObject({ code: ErrorCode.InvalidArgument, message: expect.stringMatching(/larger than 200 bytes/) });
  });

  test('a code directory outside the template\'s directory is refused', async () => {
    await project();
    await mkdir(join(dir, 'sub'));
    const file = join(dir, 'sub/template.yml');
    await writeFile(file, TEMPLATE.replace('./hello', '../hello').replace('./web', '../web'));
    await expect(packTemplate(file)).rejects.toMatchObject({ code: ErrorCode.InvalidArgument, message: expect.stringMatching(/must be inside the template's directory/) });
  });
});

describe('bundle format', () => {
  const good = encodeBundle({ template: 't.yml', files: [{ path: 't.yml', mode: 0o644, data: Buffer.from('x') }, { path: 'a/b.js', mode: 0o755, data: Buffer.from('yy') }] });

  test('round trip, entries in path order', () => {
    const bundle = decodeBundle(good);
    expect(bundle.files.map((f) => [f.path, f.mode, f.data.toString()])).toEqual([
      ['a/b.js', 0o755, 'yy'],
      ['t.yml', 0o644, 'x'],
    ]);
  });

  test.each([
    ['no magic', Buffer.from('hello')],
    ['truncated', good.subarray(0, good.length - 1)],
    ['trailing bytes', Buffer.concat([good, Buffer.from('z')])],
    ['escaping path', Buffer.from('EDGEFC-BUNDLE 1\n{"template":"t.yml","files":1}\n{"path":"../t.yml","size":0,"mode":420}\n')],
    ['absolute path', Buffer.from('EDGEFC-BUNDLE 1\n{"template":"t.yml","files":1}\n{"path":"/t.yml","size":0,"mode":420}\n')],
    ['template missing', Buffer.from('EDGEFC-BUNDLE 1\n{"template":"t.yml","files":1}\n{"path":"u.yml","size":0,"mode":420}\n')],
    ['duplicate', Buffer.from('EDGEFC-BUNDLE 1\n{"template":"t.yml","files":2}\n{"path":"t.yml","size":0,"mode":420}\n{"path":"t.yml","size":0,"mode":420}\n')],
  ])('refused: %s', (_, bytes) => {
    expect(() => decodeBundle(bytes)).toThrow(expect.objectContaining({ code: ErrorCode.InvalidArgument }) as Error);
  });

  test('what the packer wrote, the store reads back', async () => {
    const packed = await packTemplate(await project());
    const index = decodeBundle(packed.bytes).files.find((f) => f.path === 'hello/index.js');
    expect(index?.data.toString()).toBe(await readFile(join(dir, 'hello/index.js'), 'utf8'));
  });
});
