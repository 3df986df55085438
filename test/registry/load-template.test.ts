import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, test as base } from 'vitest';
import { ErrorCode } from '../../src/errors.js';
import { loadTemplate } from '../../gateway/registry/load-template.js';
import { TemplateError } from '../../gateway/registry/template-error.js';
import { makeTemplateDir, yaml, type TemplateDir } from './template-dir.js';

const test = base.extend<{ tmp: TemplateDir }>({
  // eslint-disable-next-line no-empty-pattern
  tmp: async ({}, use) => {
    const tmp = await makeTemplateDir();
    await use(tmp);
    await tmp.remove();
  },
});

/** A one-function template (lines 1–8) with `extra` lines added to the function's fields from line 9. */
function oneFunction(extra = ''): string {
  const lines = [
    'edgefc: 1',
    'services:',
    '  EdgeFC:',
    '    functions:',
    '      hello:',
    '        runtime: nodejs20',
    '        handler: index.handler',
    '        codeUri: ./hello',
    ...extra.split('\n').filter((l) => l.trim() !== '').map((l) => `        ${l}`),
  ];
  return `${lines.join('\n')}\n`;
}

/** Loads and returns the TemplateError it must throw. */
async function loadError(file: string, env: NodeJS.ProcessEnv = {}): Promise<TemplateError> {
  const err: unknown = await loadTemplate(file, { env }).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(TemplateError);
  const templateError = err as TemplateError;
  expect(templateError.code).toBe(ErrorCode.InvalidArgument);
  expect(templateError.name).toBe('TemplateError');
  return templateError;
}

describe('loadTemplate: valid templates', () => {
  test('a full template converts to the exact Template', async ({ tmp }) => {
    await tmp.file('code/hello/index.js');
    await tmp.file('code/hello/setup.cjs');
    await tmp.file('code/other/main.mjs', 'export async function run() { return 1; }\n');
    const file = await tmp.template(yaml`
      edgefc: 1
      region: cn-shanghai
      accountId: '1234567890123456789'
      credentials:
        accessKeyId: AK
        accessKeySecret: SK
        securityToken: TOKEN
      services:
        EdgeFC:
          description: demo
          logProject: proj
          logStore: store
          functions:
            helloworld:
              runtime: nodejs20
              handler: index.handler
              codeUri: ./code/hello
              memorySize: 256
              timeout: 30
              initializer: setup.init
              initializationTimeout: 5
              instanceConcurrency: 4
              maxInstances: 3
              maxQueueLength: 0
              environmentVariables:
                MODE: prod
              description: says hello
        Other:
          functions:
            runner:
              runtime: nodejs18
              handler: main.run
              codeUri: code/other
    `);
    const template = await loadTemplate(file, { env: {} });
    expect(template).toEqual({
      path: file,
      identity: {
        region: 'cn-shanghai',
        accountId: '1234567890123456789',
        credentials: { accessKeyId: 'AK', accessKeySecret: 'SK', securityToken: 'TOKEN' },
      },
      services: [
        { name: 'EdgeFC', description: 'demo', logProject: 'proj', logStore: 'store', qualifier: 'LATEST', versionId: '' },
        { name: 'Other', description: '', logProject: '', logStore: '', qualifier: 'LATEST', versionId: '' },
      ],
      functions: [
        {
          serviceName: 'EdgeFC',
          name: 'helloworld',
          description: 'says hello',
          runtime: 'nodejs20',
          handler: 'index.handler',
          codeDir: path.join(tmp.dir, 'code/hello'),
          memorySizeMB: 256,
          timeoutMs: 30_000,
          initializer: 'setup.init',
          initializationTimeoutMs: 5_000,
          instanceConcurrency: 4,
          maxInstances: 3,
          maxQueueLength: 0,
          environmentVariables: { MODE: 'prod' },
          idleTimeoutMs: 300_000,
        },
        {
          serviceName: 'Other',
          name: 'runner',
          description: '',
          runtime: 'nodejs18',
          handler: 'main.run',
          codeDir: path.join(tmp.dir, 'code/other'),
          memorySizeMB: 128,
          timeoutMs: 3_000,
          initializer: undefined,
          initializationTimeoutMs: 3_000,
          instanceConcurrency: 1,
          maxInstances: 2,
          maxQueueLength: 100,
          environmentVariables: {},
          idleTimeoutMs: 300_000,
        },
      ],
    });
  });

  test('omitted fields take their defaults', async ({ tmp }) => {
    await tmp.file('hello/index.js');
    const template = await loadTemplate(await tmp.template(oneFunction()), { env: {} });
    expect(template.identity).toEqual({
      region: 'local',
      accountId: 'local',
      credentials: { accessKeyId: '', accessKeySecret: '', securityToken: '' },
    });
    expect(template.functions[0]).toMatchObject({
      memorySizeMB: 128,
      timeoutMs: 3000,
      initializer: undefined,
      initializationTimeoutMs: 3000,
      instanceConcurrency: 1,
      maxInstances: 2,
      maxQueueLength: 100,
      environmentVariables: {},
      description: '',
      idleTimeoutMs: 300_000,
    });
  });

  test('credentials from the environment override the file, field by field; empty ones do not', async ({ tmp }) => {
    await tmp.file('hello/index.js');
    const file = await tmp.template(
      oneFunction().replace('edgefc: 1', 'edgefc: 1\ncredentials:\n  accessKeyId: FILE_AK\n  accessKeySecret: FILE_SK'),
    );
    const template = await loadTemplate(file, {
      env: { EDGEFC_ACCESS_KEY_ID: 'ENV_AK', EDGEFC_ACCESS_KEY_SECRET: '', EDGEFC_SECURITY_TOKEN: 'ENV_TOKEN' },
    });
    expect(template.identity.credentials).toEqual({
      accessKeyId: 'ENV_AK',
      accessKeySecret: 'FILE_SK',
      securityToken: 'ENV_TOKEN',
    });
  });

  test('environment variable values are kept as written', async ({ tmp }) => {
    await tmp.file('hello/index.js');
    const file = await tmp.template(
      oneFunction(`environmentVariables:\n  PORT: 0123\n  RATIO: 1e3\n  DEBUG: true\n  NAME: "x y"\n  EMPTY: ''\n  _UNDER: 1.50`),
    );
    const template = await loadTemplate(file, { env: {} });
    expect(template.functions[0]?.environmentVariables).toEqual({
      PORT: '0123',
      RATIO: '1e3',
      DEBUG: 'true',
      NAME: 'x y',
      EMPTY: '',
      _UNDER: '1.50',
    });
  });

  test('handlers resolve .mjs and .cjs files and sub-directories', async ({ tmp }) => {
    await tmp.file('hello/lib/main.mjs', 'export const handler = async () => 1;\n');
    await tmp.file('hello/init.cjs');
    const file = await tmp.template(oneFunction('initializer: init.setup').replace('index.handler', 'lib/main.handler'));
    const template = await loadTemplate(file, { env: {} });
    expect(template.functions[0]).toMatchObject({ handler: 'lib/main.handler', initializer: 'init.setup' });
  });

  test('functions can share settings through YAML anchors and merge keys', async ({ tmp }) => {
    await tmp.file('a/index.js');
    await tmp.file('b/index.js');
    const file = await tmp.template(yaml`
      edgefc: 1
      services:
        EdgeFC:
          functions:
            a: &base
              runtime: nodejs20
              handler: index.handler
              codeUri: ./a
              timeout: 20
              environmentVariables: &env
                MODE: shared
            b:
              <<: *base
              codeUri: ./b
              environmentVariables: *env
    `);
    const template = await loadTemplate(file, { env: {} });
    expect(template.functions.map((f) => [f.name, f.timeoutMs, f.codeDir, f.environmentVariables])).toEqual([
      ['a', 20_000, path.join(tmp.dir, 'a'), { MODE: 'shared' }],
      ['b', 20_000, path.join(tmp.dir, 'b'), { MODE: 'shared' }],
    ]);
  });

  test('a relative template path resolves against the working directory', async () => {
    const template = await loadTemplate('functions/template.yml', { env: {} });
    expect(template.path).toBe(path.resolve('functions/template.yml'));
  });
});

describe('loadTemplate: problems', () => {
  test('the message names the file, line, field path and reason', async ({ tmp }) => {
    await tmp.file('hello/index.js');
    const file = await tmp.template(oneFunction('timeout: abc'));
    const err = await loadError(file);
    expect(err.message).toBe(
      `${file}:9:18: services.EdgeFC.functions.hello.timeout: must be an integer number of seconds from 1 to 86400 (got "abc")`,
    );
    expect(err.problems).toEqual([
      {
        field: 'services.EdgeFC.functions.hello.timeout',
        reason: 'must be an integer number of seconds from 1 to 86400 (got "abc")',
        line: 9,
        col: 18,
      },
    ]);
  });

  test('a file inside the working directory is named relative to it', async () => {
    const err = await loadError('test/registry/no-such-template.yml');
    expect(err.message).toBe('test/registry/no-such-template.yml: template file not found');
    expect(err.file).toBe('test/registry/no-such-template.yml');
  });

  test('a missing file and a directory give clear messages', async ({ tmp }) => {
    const missing = path.join(tmp.dir, 'nope.yml');
    expect((await loadError(missing)).message).toBe(`${missing}: template file not found`);
    expect((await loadError(tmp.dir)).message).toBe(`${tmp.dir}: is a directory, not a template file`);
  });

  test.for([
    ['memorySize: 32', 'memorySize', 'must be an integer number of MB from 64 to 16384 (got 32)'],
    ['memorySize: 16385', 'memorySize', 'must be an integer number of MB from 64 to 16384 (got 16385)'],
    ['timeout: 0', 'timeout', 'must be an integer number of seconds from 1 to 86400 (got 0)'],
    ['timeout: 1.5', 'timeout', 'must be an integer number of seconds from 1 to 86400 (got 1.5)'],
    ['timeout: "3"', 'timeout', 'must be an integer number of seconds from 1 to 86400 (got "3")'],
    ['timeout: [3]', 'timeout', 'must be an integer number of seconds from 1 to 86400 (got a list)'],
    ['initializationTimeout: 301', 'initializationTimeout', 'must be an integer number of seconds from 1 to 300 (got 301)'],
    ['instanceConcurrency: 101', 'instanceConcurrency', 'must be an integer from 1 to 100 (got 101)'],
    ['maxInstances: 0', 'maxInstances', 'must be an integer from 1 to 64 (got 0)'],
    ['maxQueueLength: -1', 'maxQueueLength', 'must be an integer from 0 to 100000 (got -1)'],
    ['minInstances: -1', 'minInstances', 'must be an integer from 0 to 64 (got -1)'],
    ['minInstances: 3', 'minInstances', 'minInstances 3 is more than maxInstances 2'],
    ['minInstances: 1.5', 'minInstances', 'must be an integer from 0 to 64 (got 1.5)'],
    ['timeout:', 'timeout', 'has no value; remove the line to use the default (3)'],
    ['description: 5', 'description', 'must be a string (got 5)'],
    ['runtime: python3', 'runtime', 'runtime "python3" is not supported; supported: nodejs20, nodejs18'],
    ['handler: index', 'handler', 'must be "file.export", e.g. "index.handler" (got "index")'],
    ['handler: index.2x', 'handler', 'export name "2x" is not a JavaScript identifier'],
    ['handler: ../up.handler', 'handler', 'file part "../up" must be a relative path inside codeUri'],
    ['handler: /abs/index.handler', 'handler', 'file part "/abs/index" must be a relative path inside codeUri'],
    ['initializer: setup.init', 'initializer', 'no file setup.js, setup.mjs or setup.cjs in'],
    ['environmentVariables: [A]', 'environmentVariables', 'must be a map of variable names to values (got a list)'],
    ['environmentVariables:\n  1BAD: x', 'environmentVariables.1BAD', 'invalid variable name'],
    ['environmentVariables:\n  A-B: x', 'environmentVariables.A-B', 'invalid variable name'],
    ['environmentVariables:\n  NOTHING:', 'environmentVariables.NOTHING', "must be a string, number or boolean (got an empty value); write '' for an empty value"],
    ['environmentVariables:\n  LIST: [1]', 'environmentVariables.LIST', 'must be a string, number or boolean (got a list)'],
    ['timeot: 3', 'timeot', 'unknown field; did you mean "timeout"?'],
    ['frobnicate: 3', 'frobnicate', 'unknown field; known fields: runtime, handler, codeUri'],
  ] as const)('%s', async ([line, field, reason], { tmp }) => {
    await tmp.file('hello/index.js');
    const fnFields = line.startsWith('runtime:') || line.startsWith('handler:')
      ? oneFunction().replace(new RegExp(`${line.split(':')[0]}: .*`), line)
      : oneFunction(line);
    const err = await loadError(await tmp.template(fnFields));
    expect(err.problems).toHaveLength(1);
    expect(err.problems[0]?.field).toBe(`services.EdgeFC.functions.hello.${field}`);
    expect(err.problems[0]?.reason).toContain(reason);
    expect(err.message).toContain(`services.EdgeFC.functions.hello.${field}: ${reason}`);
  });

  test('a missing handler file is reported on handler with the directory searched', async ({ tmp }) => {
    await tmp.file('hello/other.js');
    const err = await loadError(await tmp.template(oneFunction()));
    expect(err.problems).toEqual([
      expect.objectContaining({
        field: 'services.EdgeFC.functions.hello.handler',
        reason: `no file index.js, index.mjs or index.cjs in ${path.join(tmp.dir, 'hello')}`,
      }),
    ]);
  });

  test('a handler file present under two extensions is ambiguous', async ({ tmp }) => {
    await tmp.file('hello/index.js');
    await tmp.file('hello/index.mjs');
    const err = await loadError(await tmp.template(oneFunction()));
    expect(err.problems[0]?.reason).toContain('ambiguous: index.js and index.mjs both exist');
  });

  test('codeUri must be an existing directory', async ({ tmp }) => {
    await tmp.file('hello');
    let err = await loadError(await tmp.template(oneFunction()));
    expect(err.problems).toEqual([
      expect.objectContaining({
        field: 'services.EdgeFC.functions.hello.codeUri',
        reason: `${path.join(tmp.dir, 'hello')} is not a directory`,
      }),
    ]);
    err = await loadError(await tmp.template(oneFunction().replace('./hello', './missing')));
    expect(err.problems[0]?.reason).toBe(`directory ${path.join(tmp.dir, 'missing')} does not exist`);
  });

  test('required function fields', async ({ tmp }) => {
    const file = await tmp.template(yaml`
      edgefc: 1
      services:
        EdgeFC:
          functions:
            hello:
              description: nothing else
    `);
    const err = await loadError(file);
    expect(err.problems.map((p) => `${p.line}: ${p.field}: ${p.reason}`)).toEqual([
      '5: services.EdgeFC.functions.hello: missing required field "runtime"',
      '5: services.EdgeFC.functions.hello: missing required field "handler"',
      '5: services.EdgeFC.functions.hello: missing required field "codeUri"',
    ]);
  });

  test('bad service and function names use the wire rule', async ({ tmp }) => {
    await tmp.file('hello/index.js');
    const file = await tmp.template(oneFunction().replace('EdgeFC:', '9lives:').replace('hello:', '"he llo":'));
    const err = await loadError(file);
    expect(err.problems.map((p) => [p.field, p.reason, p.line])).toEqual([
      ['services.9lives', 'invalid service name: may hold only letters, digits, "_" and "-", and must start with a letter or "_"', 3],
      ['services.9lives.functions["he llo"]', 'invalid function name: may hold only letters, digits, "_" and "-", and must start with a letter or "_"', 5],
    ]);
  });

  test('a function name longer than 128 characters is refused', async ({ tmp }) => {
    await tmp.file('hello/index.js');
    const err = await loadError(await tmp.template(oneFunction().replace('hello:', `${'f'.repeat(129)}:`)));
    expect(err.problems[0]?.reason).toBe('invalid function name: must be at most 128 characters');
  });

  test('unknown fields at every level, with hints', async ({ tmp }) => {
    await tmp.file('hello/index.js');
    const file = await tmp.template(yaml`
      edgefc: 1
      regoin: cn-shanghai
      credentials:
        accessKey: x
      services:
        EdgeFC:
          logstore: s
          functions:
            hello:
              runtime: nodejs20
              handler: index.handler
              codeUri: ./hello
              memorysize: 256
    `);
    const err = await loadError(file);
    expect(err.problems.map((p) => `${p.line}:${p.col} ${p.field}: ${p.reason}`)).toEqual([
      '2:1 regoin: unknown field; did you mean "region"?',
      '4:3 credentials.accessKey: unknown field; did you mean "accessKeyId"?',
      '7:5 services.EdgeFC.logstore: unknown field; did you mean "logStore"?',
      '13:9 services.EdgeFC.functions.hello.memorysize: unknown field; did you mean "memorySize"?',
    ]);
  });

  test('the template format version is required and must be 1', async ({ tmp }) => {
    let err = await loadError(await tmp.template('services: {}\n'));
    expect(err.problems[0]?.reason).toBe('missing required field "edgefc" (the template format version); add "edgefc: 1"');
    err = await loadError(await tmp.template('edgefc: 2\nservices: 5\n'));
    // Under an unknown version nothing else is checked.
    expect(err.problems).toEqual([
      { field: 'edgefc', reason: 'unknown template format version 2; this gateway reads version 1', line: 1, col: 9 },
    ]);
    err = await loadError(await tmp.template('edgefc: "1"\n'));
    expect(err.problems[0]?.reason).toBe('unknown template format version "1"; this gateway reads version 1');
  });

  test('YAML syntax errors give line and column', async ({ tmp }) => {
    const file = await tmp.template('edgefc: 1\nservices:\n  EdgeFC: [a, b\n');
    const err = await loadError(file);
    expect(err.problems[0]?.field).toBe('');
    expect(err.problems[0]?.reason).toMatch(/^YAML syntax error: /);
    expect(err.problems[0]?.line).toBeGreaterThanOrEqual(3);
    expect(err.message).toMatch(new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\d+:\\d+: YAML syntax error`, 'm'));
  });

  test('a duplicate function name is a clear error at the second occurrence', async ({ tmp }) => {
    await tmp.file('hello/index.js');
    const file = await tmp.template(`${oneFunction()}\n      hello:\n        runtime: nodejs20\n`);
    const err = await loadError(file);
    expect(err.problems).toEqual([
      {
        field: '',
        reason: 'duplicate key "hello": a YAML map may not repeat a key (two services, functions or fields with one name)',
        line: 10,
        col: 7,
      },
    ]);
    expect(err.message).toBe(`${file}:10:7: ${err.problems[0]?.reason}`);
  });

  test('two YAML documents are refused', async ({ tmp }) => {
    const err = await loadError(await tmp.template('edgefc: 1\n---\nedgefc: 1\n'));
    expect(err.problems[0]?.reason).toBe('the template must be a single YAML document (found a second "---")');
  });

  test('empty and non-map templates', async ({ tmp }) => {
    let err = await loadError(await tmp.template(''));
    expect(err.problems[0]?.reason).toBe('the template is empty; it needs at least "edgefc: 1" and "services"');
    err = await loadError(await tmp.template('- a\n- b\n'));
    expect(err.problems[0]?.reason).toBe('the template must be a YAML map of fields (got a list)');
  });

  test('services and functions must be present and non-empty', async ({ tmp }) => {
    let err = await loadError(await tmp.template('edgefc: 1\n'));
    expect(err.problems[0]?.reason).toBe('missing required field "services"');
    err = await loadError(await tmp.template('edgefc: 1\nservices: {}\n'));
    expect(err.problems[0]).toMatchObject({ field: 'services', reason: 'must name at least one service' });
    err = await loadError(await tmp.template('edgefc: 1\nservices:\n  EdgeFC:\n    functions:\n'));
    expect(err.problems[0]).toMatchObject({
      field: 'services.EdgeFC.functions',
      reason: 'must be a map of functions by name (got an empty value)',
    });
    err = await loadError(await tmp.template('edgefc: 1\nservices:\n  EdgeFC:\n    description: x\n'));
    expect(err.problems[0]).toMatchObject({ field: 'services.EdgeFC', reason: 'missing required field "functions"' });
  });

  test('a numeric accountId is refused with a hint to quote it', async ({ tmp }) => {
    await tmp.file('hello/index.js');
    const err = await loadError(await tmp.template(`accountId: 1234567890123456789\n${oneFunction()}`));
    expect(err.problems[0]).toMatchObject({
      field: 'accountId',
      reason: "must be a string (got 1234567890123456800); quote it, e.g. accountId: '1234567890'",
    });
  });

  test('bad credentials shapes', async ({ tmp }) => {
    await tmp.file('hello/index.js');
    let err = await loadError(await tmp.template(`credentials: abc\n${oneFunction()}`));
    expect(err.problems[0]).toMatchObject({ field: 'credentials', reason: 'must be a map of credential fields (got "abc")' });
    err = await loadError(await tmp.template(`credentials:\n  accessKeyId: 12\n${oneFunction()}`));
    expect(err.problems[0]).toMatchObject({ field: 'credentials.accessKeyId', reason: 'must be a string (got 12)' });
  });

  test('every problem in the file is reported in one error', async ({ tmp }) => {
    await mkdir(path.join(tmp.dir, 'b'));
    const file = await tmp.template(yaml`
      edgefc: 1
      region: ''
      services:
        EdgeFC:
          functions:
            a:
              runtime: nodejs16
              handler: index.handler
              codeUri: ./a
              timeout: 0
            b:
              runtime: nodejs20
              handler: index.handler
              codeUri: ./b
              maxInstances: 65
              colour: blue
    `);
    const err = await loadError(file);
    expect(err.problems.map((p) => p.field)).toEqual([
      'region',
      'services.EdgeFC.functions.a.runtime',
      'services.EdgeFC.functions.a.timeout',
      'services.EdgeFC.functions.a.codeUri',
      'services.EdgeFC.functions.b.colour',
      'services.EdgeFC.functions.b.maxInstances',
      'services.EdgeFC.functions.b.handler',
    ]);
    const lines = err.message.split('\n');
    expect(lines[0]).toBe(`${file}: 7 problems in the template:`);
    expect(lines[1]).toBe(`  ${file}:2:9: region: must not be empty`);
    expect(lines).toHaveLength(8);
  });

  test('a long list of problems is cut short in the message but kept whole in problems', async ({ tmp }) => {
    const fns = Array.from({ length: 25 }, (_, i) => `      f${i}: 1`).join('\n');
    const err = await loadError(await tmp.template(`edgefc: 1\nservices:\n  EdgeFC:\n    functions:\n${fns}\n`));
    expect(err.problems).toHaveLength(25);
    expect(err.message.split('\n')).toHaveLength(22);
    expect(err.message).toMatch(/… and 5 more$/);
  });

  test('YAML alias bombs are refused', async ({ tmp }) => {
    const lines = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 8; i++) lines.push(`${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(10).fill(`*${String.fromCharCode(96 + i)}`).join(', ')}]`);
    const err = await loadError(await tmp.template(`${lines.join('\n')}\n`));
    expect(err.problems[0]?.reason).toMatch(/^cannot read the YAML: /);
  });
});
