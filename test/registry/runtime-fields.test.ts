/**
 * Template fields of the non-Node runtimes: `runtime: custom` / `go1`, customRuntimeConfig,
 * instanceLifecycleConfig, and the refusal of custom-container.
 */
import { chmod } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, test as base } from 'vitest';
import { ErrorCode } from '../../src/errors.js';
import { loadTemplate } from '../../gateway/registry/load-template.js';
import { TemplateError } from '../../gateway/registry/template-error.js';
import { makeTemplateDir, type TemplateDir } from './template-dir.js';

const test = base.extend<{ tmp: TemplateDir }>({
  // eslint-disable-next-line no-empty-pattern
  tmp: async ({}, use) => {
    const tmp = await makeTemplateDir();
    await use(tmp);
    await tmp.remove();
  },
});

function oneFunction(fields: string): string {
  const lines = ['edgefc: 1', 'services:', '  S:', '    functions:', '      f:', ...fields.trim().split('\n').map((l) => `        ${l.trim() === '' ? '' : l}`)];
  return `${lines.join('\n')}\n`;
}

async function executable(tmp: TemplateDir, rel: string): Promise<string> {
  const file = await tmp.file(rel, '#!/bin/sh\n');
  await chmod(file, 0o755);
  return file;
}

async function problems(tmp: TemplateDir, fields: string): Promise<{ field: string; reason: string }[]> {
  const err: unknown = await loadTemplate(await tmp.template(oneFunction(fields)), { env: {} }).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(TemplateError);
  expect((err as TemplateError).code).toBe(ErrorCode.InvalidArgument);
  return (err as TemplateError).problems.map(({ field, reason }) => ({ field, reason }));
}

describe('runtime: custom', () => {
  test('defaults to codeUri/bootstrap in web server mode; handler and initializer are free-form', async ({ tmp }) => {
    const bootstrap = await executable(tmp, 'web/bootstrap');
    const template = await loadTemplate(
      await tmp.template(oneFunction('runtime: custom\nhandler: main.handle\ncodeUri: ./web\ninitializer: anything goes')),
      { env: {} },
    );
    expect(template.functions[0]).toMatchObject({
      runtime: 'custom',
      handler: 'main.handle',
      initializer: 'anything goes',
      customRuntimeConfig: { command: [bootstrap], args: [], webServerMode: true },
    });
  });

  test('command and args: a relative program is resolved against codeUri; a bare name is left to PATH', async ({ tmp }) => {
    const server = await executable(tmp, 'web/bin/server');
    const relative = await loadTemplate(
      await tmp.template(
        oneFunction(`runtime: custom\nhandler: h\ncodeUri: ./web\ncustomRuntimeConfig:\n  command: ['./bin/server', '-v']\n  args: ['--port', '9000']`),
      ),
      { env: {} },
    );
    expect(relative.functions[0]?.customRuntimeConfig).toEqual({ command: [server, '-v'], args: ['--port', '9000'], webServerMode: true });
    await tmp.file('event/x');
    const bare = await loadTemplate(
      await tmp.template(oneFunction('runtime: custom\nhandler: h\ncodeUri: ./event\ncustomRuntimeConfig:\n  command: [python3, main.py]\n  webServerMode: false')),
      { env: {} },
    );
    expect(bare.functions[0]?.customRuntimeConfig).toEqual({ command: ['python3', 'main.py'], args: [], webServerMode: false });
  });

  test('a missing or non-executable bootstrap is reported at load', async ({ tmp }) => {
    await tmp.file('web/bootstrap', '#!/bin/sh\n');
    expect(await problems(tmp, 'runtime: custom\nhandler: h\ncodeUri: ./web')).toEqual([
      { field: 'services.S.functions.f', reason: expect.stringContaining('is not executable') as string },
    ]);
    await tmp.file('empty/x');
    expect((await problems(tmp, 'runtime: custom\nhandler: h\ncodeUri: ./empty'))[0]?.reason).toContain(`no file ${path.join(tmp.dir, 'empty', 'bootstrap')}`);
  });

  test('bad customRuntimeConfig fields are reported one by one', async ({ tmp }) => {
    await executable(tmp, 'web/bootstrap');
    expect(
      await problems(tmp, 'runtime: custom\nhandler: h\ncodeUri: ./web\ncustomRuntimeConfig:\n  command: server\n  args: [1]\n  webServerMode: "no"\n  port: 0\n  caPort: 9000'),
    ).toEqual([
      { field: 'services.S.functions.f.customRuntimeConfig.caPort', reason: expect.stringContaining('unknown field') as string },
      { field: 'services.S.functions.f.customRuntimeConfig.command', reason: 'must be a list of strings (got "server")' },
      { field: 'services.S.functions.f.customRuntimeConfig.args.0', reason: 'must be a string without NUL characters (got 1)' },
      { field: 'services.S.functions.f.customRuntimeConfig.webServerMode', reason: 'must be true or false (got "no")' },
      { field: 'services.S.functions.f.customRuntimeConfig.port', reason: expect.stringContaining('65535') as string },
    ]);
  });

  test('customRuntimeConfig.port (FC\'s CAPort) fixes the server\'s port, in web server mode only', async ({ tmp }) => {
    await executable(tmp, 'web/bootstrap');
    const loaded = await loadTemplate(await tmp.template(oneFunction('runtime: custom\nhandler: h\ncodeUri: ./web\ncustomRuntimeConfig:\n  port: 9000')), { env: {} });
    expect(loaded.functions[0]?.customRuntimeConfig).toMatchObject({ webServerMode: true, port: 9000 });
    expect(await problems(tmp, 'runtime: custom\nhandler: h\ncodeUri: ./web\ncustomRuntimeConfig:\n  webServerMode: false\n  port: 9000')).toEqual([
      { field: 'services.S.functions.f.customRuntimeConfig.port', reason: expect.stringContaining('only applies to web server mode') as string },
    ]);
  });

  test('non-web mode refuses an initializer and a preStop hook', async ({ tmp }) => {
    await executable(tmp, 'ev/bootstrap');
    const found = await problems(
      tmp,
      'runtime: custom\nhandler: h\ncodeUri: ./ev\ninitializer: init\ncustomRuntimeConfig:\n  webServerMode: false\ninstanceLifecycleConfig:\n  preStop:\n    handler: stop\n    timeout: 3',
    );
    expect(found.map((p) => p.field)).toEqual([
      'services.S.functions.f.initializer',
      'services.S.functions.f.instanceLifecycleConfig.preStop',
    ]);
  });

  test('instanceLifecycleConfig.preStop is read for custom web servers', async ({ tmp }) => {
    await executable(tmp, 'web/bootstrap');
    const template = await loadTemplate(
      await tmp.template(oneFunction('runtime: custom\nhandler: h\ncodeUri: ./web\ninstanceLifecycleConfig:\n  preStop:\n    handler: index.preStop\n    timeout: 5')),
      { env: {} },
    );
    expect(template.functions[0]?.preStop).toEqual({ handler: 'index.preStop', timeoutMs: 5_000 });
  });
});

describe('runtime: go1 and the rest', () => {
  test('go1: the handler names an executable in codeUri', async ({ tmp }) => {
    await executable(tmp, 'go/main');
    const template = await loadTemplate(await tmp.template(oneFunction('runtime: go1\nhandler: main\ncodeUri: ./go')), { env: {} });
    expect(template.functions[0]).toMatchObject({ runtime: 'go1', handler: 'main' });
    await tmp.file('go/notexec', 'x');
    expect(await problems(tmp, 'runtime: go1\nhandler: notexec\ncodeUri: ./go')).toEqual([
      { field: 'services.S.functions.f.handler', reason: `${path.join(tmp.dir, 'go', 'notexec')} is not executable (chmod +x it)` },
    ]);
    expect((await problems(tmp, 'runtime: go1\nhandler: ../main\ncodeUri: ./go'))[0]?.reason).toContain('inside codeUri');
  });

  test('custom-container is refused with a clear "not supported on this gateway"', async ({ tmp }) => {
    await tmp.file('img/x');
    expect(await problems(tmp, 'runtime: custom-container\nhandler: h\ncodeUri: ./img')).toEqual([
      { field: 'services.S.functions.f.runtime', reason: expect.stringMatching(/^runtime "custom-container" is not supported on this gateway: it runs no container engine/) as string },
    ]);
  });

  test('customRuntimeConfig and preStop are refused where they cannot apply', async ({ tmp }) => {
    await tmp.file('n/index.js');
    expect(
      (await problems(tmp, 'runtime: nodejs20\nhandler: index.handler\ncodeUri: ./n\ncustomRuntimeConfig:\n  command: [x]\ninstanceLifecycleConfig:\n  preStop:\n    handler: a\n    timeout: 1')).map(
        (p) => p.reason,
      ),
    ).toEqual([
      'only applies to runtime: custom (this function\'s runtime is nodejs20)',
      // Node.js: preStop is a `file.export` hook, like the handler.
      'must be "file.export", e.g. "index.handler" (got "a")',
    ]);
    await executable(tmp, 'event/bootstrap');
    expect(
      (await problems(tmp, 'runtime: custom\nhandler: h\ncodeUri: ./event\ncustomRuntimeConfig:\n  webServerMode: false\ninstanceLifecycleConfig:\n  preStop:\n    handler: a')).map((p) => p.reason),
    ).toEqual(['is not supported for non-web mode (webServerMode: false): a process per event has no instance to stop']);
  });

  test('minInstances is refused for non-web mode: there is no instance to keep warm', async ({ tmp }) => {
    await executable(tmp, 'event/bootstrap');
    expect(
      await problems(tmp, 'runtime: custom\nhandler: h\ncodeUri: ./event\nminInstances: 1\ncustomRuntimeConfig:\n  webServerMode: false'),
    ).toEqual([expect.objectContaining({ field: 'services.S.functions.f.minInstances', reason: expect.stringContaining('no instance to keep warm') })]);
  });

  test('Node.js preStop: a `file.export` whose file exists', async ({ tmp }) => {
    await tmp.file('n/index.js');
    const fields = (hook: string): string => `runtime: nodejs20\nhandler: index.handler\ncodeUri: ./n\ninstanceLifecycleConfig:\n  preStop:\n    handler: ${hook}\n    timeout: 2`;
    const template = await loadTemplate(await tmp.template(oneFunction(fields('index.preStop'))), { env: {} });
    expect(template.functions[0]?.preStop).toEqual({ handler: 'index.preStop', timeoutMs: 2000 });
    expect(await problems(tmp, fields('hooks.preStop'))).toEqual([
      { field: 'services.S.functions.f.instanceLifecycleConfig.preStop.handler', reason: expect.stringContaining('hooks.js') as string },
    ]);
  });
});

describe('isolation', () => {
  test('absent or `process`: nothing in the spec; `none` for a Node.js function: in the spec', async ({ tmp }) => {
    await tmp.file('n/index.js');
    const load = async (extra: string) =>
      (await loadTemplate(await tmp.template(oneFunction(`runtime: nodejs20\nhandler: index.handler\ncodeUri: ./n\n${extra}`)), { env: {} })).functions[0];
    expect(await load('')).not.toHaveProperty('isolation');
    expect(await load('isolation: process')).not.toHaveProperty('isolation');
    expect(await load('isolation: none')).toMatchObject({ isolation: 'none' });
  });

  test('`none` is refused for other runtimes, with environmentVariables, and unknown values are refused', async ({ tmp }) => {
    await tmp.file('n/index.js');
    await executable(tmp, 'web/bootstrap');
    const field = 'services.S.functions.f.isolation';
    expect(await problems(tmp, 'runtime: custom\nhandler: h\ncodeUri: ./web\nisolation: none')).toEqual([
      { field, reason: expect.stringContaining('only Node.js runtimes can do') as string },
    ]);
    expect(await problems(tmp, "runtime: nodejs20\nhandler: index.handler\ncodeUri: ./n\nisolation: none\nenvironmentVariables:\n  A: '1'")).toEqual([
      { field, reason: expect.stringContaining("shares the gateway's process.env") as string },
    ]);
    expect(await problems(tmp, 'runtime: nodejs20\nhandler: index.handler\ncodeUri: ./n\nisolation: thread')).toEqual([
      { field, reason: 'must be one of process, none (got "thread")' },
    ]);
  });
});
