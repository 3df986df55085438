/**
 * schema/template.schema.json, the JSON Schema editors validate template.yml with: a real JSON
 * Schema validator (ajv) accepts the sample template and every template fixture the tests serve,
 * refuses what the gateway refuses for the fields a schema can see, and its fields, ranges,
 * defaults and enums are exactly gateway/registry/template-schema.ts's, both ways.
 */
import { readFileSync } from 'node:fs';
import { readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import Ajv from 'ajv';
import { describe, expect, test } from 'vitest';
import { loadTemplate } from '../../gateway/registry/load-template.js';
import { parseTemplateText } from '../../gateway/registry/template-source.js';
import * as fields from '../../gateway/registry/template-schema.js';
import { Isolation, RuntimeName } from '../../gateway/registry/types.js';
import { templateYaml } from '../fixtures/test-gateway.js';
import { traversableTempDir } from '../fixtures/temp-dirs.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const schema = JSON.parse(readFileSync(path.join(ROOT, 'schema/template.schema.json'), 'utf8')) as Schema;
const validate = new Ajv({ allErrors: true }).compile(schema);

interface Schema {
  properties?: Record<string, Schema>;
  definitions?: Record<string, Schema>;
  additionalProperties?: boolean | Schema;
  items?: Schema;
  $ref?: string;
  enum?: unknown[];
  const?: unknown;
  minimum?: number;
  maximum?: number;
  maxItems?: number;
  default?: unknown;
  type?: string | string[];
}

function rawOf(text: string): unknown {
  const parsed = parseTemplateText(text);
  if (!parsed.ok) throw new Error(`not a template: ${JSON.stringify(parsed.problems)}`);
  return parsed.raw;
}

function schemaErrors(text: string): string[] {
  return validate(rawOf(text)) ? [] : (validate.errors ?? []).map((e) => `${e.dataPath} ${e.message ?? ''}`);
}

async function ymlFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile() && /\.ya?ml$/.test(entry.name)) out.push(path.join(entry.parentPath, entry.name));
  }
  return out;
}

describe('the templates in the repository', () => {
  test('functions/template.yml, every .yml template under test/ and the test gateway\'s template are valid', async () => {
    const files = [path.join(ROOT, 'functions/template.yml'), ...(await ymlFiles(path.join(ROOT, 'test')))];
    const templates = files.map((file) => [file, readFileSync(file, 'utf8')] as const).filter(([, text]) => /^edgefc:/m.test(text));
    expect(templates.length).toBeGreaterThanOrEqual(2);
    for (const [file, text] of [...templates, ['test-gateway.ts', templateYaml('/tmp/markers')] as const]) expect(schemaErrors(text), file).toEqual([]);
  });

  test('the sample says which schema it follows, for editors (yaml-language-server)', () => {
    expect(readFileSync(path.join(ROOT, 'functions/template.yml'), 'utf8')).toMatch(/^# yaml-language-server: \$schema=\.\.\/schema\/template\.schema\.json$/m);
  });

  test('the package ships it', () => {
    const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { files: string[] };
    expect(pkg.files).toContain('schema');
  });
});

describe('what the schema refuses, the gateway refuses too', () => {
  const base = (extra: string): string => `edgefc: 1\nservices:\n  S:\n    functions:\n      f:\n        runtime: nodejs20\n        handler: index.handler\n        codeUri: ./f\n${extra}`;
  test.each([
    ['an unknown function field', '        memory: 128\n'],
    ['a timeout out of range', '        timeout: 0\n'],
    ['a quoted number', '        maxInstances: "2"\n'],
    ['an unknown isolation', '        isolation: thread\n'],
    ['a bad retry count', '        asyncConfiguration:\n          maxAsyncRetryAttempts: 9\n'],
    ['an unknown trigger type', '        triggers:\n          - topic: a/b\n            type: http\n'],
    ['a bad environment name', '        environmentVariables:\n          "1A": x\n'],
  ])('%s', async (_what, extra) => {
    const dir = await traversableTempDir('edgefc-schema-');
    const file = path.join(dir, 'template.yml');
    await import('node:fs/promises').then((fs) => fs.mkdir(path.join(dir, 'f')));
    await writeFile(path.join(dir, 'f', 'index.js'), 'exports.handler = (e, c, cb) => cb(null, "ok");\n');
    await writeFile(file, base(''));
    await expect(loadTemplate(file, { env: {} })).resolves.toBeDefined();
    expect(schemaErrors(base(''))).toEqual([]);
    await writeFile(file, base(extra));
    await expect(loadTemplate(file, { env: {} })).rejects.toMatchObject({ code: 'InvalidArgument' });
    expect(schemaErrors(base(extra))).not.toEqual([]);
  });
});

/** The object schema at a path of property names (through $ref, items and additionalProperties). */
function at(...names: string[]): Schema {
  let node: Schema = schema;
  const deref = (s: Schema): Schema => (s.$ref === undefined ? s : (schema.definitions?.[s.$ref.replace('#/definitions/', '')] as Schema));
  for (const name of names) {
    node = deref(node);
    if (name === '*') node = (typeof node.additionalProperties === 'object' ? node.additionalProperties : node.items) as Schema;
    else node = node.properties?.[name] as Schema;
    expect(node, names.join('.')).toBeDefined();
  }
  return deref(node);
}

describe('the schema and gateway/registry agree, both ways', () => {
  const objects: [string[], readonly string[]][] = [
    [[], fields.ROOT_FIELDS],
    [['credentials'], fields.CREDENTIAL_FIELDS],
    [['services', '*'], fields.SERVICE_FIELDS],
    [['services', '*', 'functions', '*'], fields.FUNCTION_FIELDS],
    [['services', '*', 'functions', '*', 'customRuntimeConfig'], fields.CUSTOM_RUNTIME_FIELDS],
    [['services', '*', 'functions', '*', 'instanceLifecycleConfig'], fields.LIFECYCLE_FIELDS],
    [['services', '*', 'functions', '*', 'instanceLifecycleConfig', 'preStop'], fields.LIFECYCLE_HOOK_FIELDS],
    [['services', '*', 'functions', '*', 'asyncConfiguration'], fields.ASYNC_CONFIG_FIELDS],
    [['services', '*', 'functions', '*', 'asyncConfiguration', 'destinationConfig'], fields.DESTINATION_CONFIG_FIELDS],
    [['services', '*', 'functions', '*', 'asyncConfiguration', 'destinationConfig', 'onSuccess'], fields.DESTINATION_FIELDS],
    [['services', '*', 'functions', '*', 'asyncConfiguration', 'destinationConfig', 'onFailure'], fields.DESTINATION_FIELDS],
    [['services', '*', 'functions', '*', 'triggers', '*'], fields.TRIGGER_FIELDS],
  ];

  test.each(objects.map(([p, known]) => [p.join('.') || '(root)', p, known] as const))('%s: the same fields, and no others', (_name, p, known) => {
    const node = at(...p);
    expect(Object.keys(node.properties ?? {}).sort()).toEqual([...known].sort());
    expect(node.additionalProperties).toBe(false);
  });

  test('every object of the schema with fields is one of those', () => {
    let count = 0;
    const walk = (node: unknown): void => {
      if (typeof node !== 'object' || node === null) return;
      if ('properties' in node) count += 1;
      for (const value of Object.values(node)) walk(value);
    };
    walk(schema);
    // Service and function are counted once, where they are defined.
    expect(count).toBe(objects.length);
  });

  test('integer ranges and defaults', () => {
    const fn = ['services', '*', 'functions', '*'];
    const ranges: [string[], { min: number; max: number; default: number }][] = [
      ...Object.entries(fields.FUNCTION_LIMITS).map(([name, rule]) => [[...fn, name], rule] as [string[], typeof rule]),
      ...Object.entries(fields.ASYNC_LIMITS).map(([name, rule]) => [[...fn, 'asyncConfiguration', name], rule] as [string[], typeof rule]),
      [[...fn, 'instanceLifecycleConfig', 'idleTimeout'], fields.IDLE_TIMEOUT],
      [[...fn, 'instanceLifecycleConfig', 'preStop', 'timeout'], fields.PRE_STOP_TIMEOUT],
    ];
    for (const [p, rule] of ranges) {
      expect({ type: at(...p).type, min: at(...p).minimum, max: at(...p).maximum, default: at(...p).default }, p.join('.')).toEqual({ type: 'integer', min: rule.min, max: rule.max, default: rule.default });
    }
  });

  test('enums, the version, the trigger limit and the defaults of strings', () => {
    const fn = ['services', '*', 'functions', '*'];
    expect(at(...fn, 'runtime').enum).toEqual(Object.values(RuntimeName));
    expect(at(...fn, 'isolation').enum).toEqual(Object.values(Isolation));
    expect(at('edgefc').const).toBe(fields.TEMPLATE_VERSION);
    expect(at(...fn, 'triggers').maxItems).toBe(fields.MAX_TRIGGERS);
    expect(at('region').default).toBe(fields.DEFAULT_REGION);
    expect(at('accountId').default).toBe(fields.DEFAULT_ACCOUNT_ID);
  });
});
