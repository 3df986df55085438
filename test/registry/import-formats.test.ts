/**
 * FC project files read by the template loader (gateway/registry/import/): the fixtures in
 * test/fixtures/fc-projects/ (written from the Serverless Devs fc / fc3 and Funcraft public
 * references) load as edgefc templates, every field without an edge meaning gets its message at
 * its line, errors fail the load with positions in the source file, and secrets stay out of it all.
 */
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { describe, expect, test as base } from 'vitest';
import { DROPPED_FIELDS } from '../../gateway/registry/import/field-map.js';
import type { LocatedImportMessage } from '../../gateway/registry/import/foreign-template.js';
import { loadTemplate } from '../../gateway/registry/load-template.js';
import { TemplateError } from '../../gateway/registry/template-error.js';
import type { Template } from '../../gateway/registry/types.js';
import { makeTemplateDir, yaml, type TemplateDir } from './template-dir.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/fc-projects/', import.meta.url));

const test = base.extend<{ tmp: TemplateDir }>({
  // eslint-disable-next-line no-empty-pattern
  tmp: async ({}, use) => {
    const tmp = await makeTemplateDir();
    await use(tmp);
    await tmp.remove();
  },
});

async function load(file: string): Promise<{ template: Template; messages: LocatedImportMessage[] }> {
  const messages: LocatedImportMessage[] = [];
  const template = await loadTemplate(file, { env: {}, onImportMessage: (m) => messages.push(m) });
  return { template, messages };
}

async function loadError(file: string): Promise<TemplateError> {
  const err: unknown = await loadTemplate(file, { env: {} }).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(TemplateError);
  return err as TemplateError;
}

function fn(template: Template, id: string): Template['functions'][number] {
  const found = template.functions.find((f) => `${f.serviceName}/${f.name}` === id);
  expect(found, id).toBeDefined();
  return found as Template['functions'][number];
}

/** `line field severity` of each message, for compact assertions. */
const brief = (messages: LocatedImportMessage[]): string[] => messages.map((m) => `${m.line ?? '-'} ${m.field} ${m.severity}`);

describe('Serverless Devs s.yaml, edition 1.0.0 (fc component)', () => {
  const file = path.join(FIXTURES, 'devs/s.yaml');

  test('three entries become two services; fields carried over with FC units turned into ours', async () => {
    const { template } = await load(file);
    expect(template.functions.map((f) => `${f.serviceName}/${f.name} ${f.runtime}`)).toEqual(['shop/hello nodejs20', 'shop/orders nodejs20', 'web/site custom']);
    expect(template.identity.region).toBe('cn-hangzhou');
    const hello = fn(template, 'shop/hello');
    expect(hello.codeDir).toBe(path.join(FIXTURES, 'devs/code/hello'));
    expect([hello.memorySizeMB, hello.timeoutMs, hello.environmentVariables['GREETING']]).toEqual([256, 30_000, 'Hi from s.yaml']);
    const orders = fn(template, 'shop/orders');
    expect([orders.initializer, orders.initializationTimeoutMs, orders.instanceConcurrency]).toEqual(['index.initializer', 20_000, 10]);
    expect(JSON.stringify(orders)).toMatch(/index\.preStop/);
    expect(JSON.stringify(orders)).toMatch(/fc:\/\/shop\/hello/);
    expect(JSON.stringify(orders)).not.toMatch(/acs:mns/);
    // FC's default CAPort for a custom runtime without one: a server written for FC may hard-code it.
    expect(JSON.stringify(fn(template, 'web/site'))).toMatch(/"port":9000/);
    const service = template.services.find((s) => s.name === 'shop');
    expect(JSON.stringify(service)).toMatch(/shop-logs/);
  });

  test('a message at its line for every dropped field, every trigger and every renamed value', async () => {
    const { messages } = await load(file);
    expect(brief(messages)).toEqual(
      expect.arrayContaining([
        '5 access warning',
        '23 services.hello.props.service.internetAccess warning',
        '23 services.hello.props.service.role warning',
        '44 services.hello.props.customDomains warning',
        '27 services.hello.props.function.runtime info',
        '32 services.hello.props.function.instanceType warning',
        '37 services.hello.props.triggers.0 warning',
        '62 services.orders.props.function.layers warning',
        '65 services.orders.props.function.instanceLifecycleConfig.preFreeze warning',
        '74 services.orders.props.function.asyncConfiguration.destination.onFailure warning',
        '79 services.orders.props.triggers.0 warning',
        '85 services.orders.props.triggers.1 warning',
        '99 services.web.props.service.vpcConfig warning',
        '104 services.web.props.service.nasConfig warning',
      ]),
    );
    const text = messages.map((m) => m.reason).join('\n');
    expect(text).toMatch(/HTTP trigger has no edgefc equivalent yet[\s\S]*anonymous[\s\S]*invokers: \[devices\]/);
    expect(text).toMatch(/timer trigger[\s\S]*0 0 2 \* \* \*/);
    // A service shared by two entries is reported once, not per entry.
    expect(messages.filter((m) => m.field.endsWith('service.role'))).toHaveLength(1);
  });

  test('no secret in any message: environment values and the access alias stay out', async () => {
    const { messages } = await load(file);
    const text = JSON.stringify(messages);
    expect(text).not.toMatch(/not-a-real-secret/);
    expect(text).not.toMatch(/Hi from s\.yaml/);
  });

  test('invokers stay the secure default: converted functions are not opened to devices', async () => {
    const { template, messages } = await load(file);
    const defaults = await loadTemplate(path.join(FIXTURES, '../../../functions/template.yml'), { env: {} });
    const invoker = fn(defaults, 'EdgeFC/invoker'); // a sample without `invokers`: the default
    for (const f of template.functions) expect(f.invokers).toEqual(invoker.invokers);
    expect(messages.some((m) => m.field === '' && /invokers/.test(m.reason))).toBe(true);
  });
});

describe('Serverless Devs s.yaml, edition 3.0.0 (fc3 component)', () => {
  test('one service named after the project; lifecycle initializer, async destinations and ${vars}/${env(…, default)} resolved', async () => {
    const { template, messages } = await load(path.join(FIXTURES, 'fc3/s.yaml'));
    expect(template.functions.map((f) => `${f.serviceName}/${f.name} ${f.runtime}`)).toEqual(['orders-app/orders-dev nodejs18', 'orders-app/orders-dev-dlq nodejs20']);
    expect(template.identity.region).toBe('cn-shanghai');
    const orders = fn(template, 'orders-app/orders-dev');
    expect([orders.initializer, orders.initializationTimeoutMs, orders.memorySizeMB, orders.instanceConcurrency]).toEqual(['index.initializer', 15_000, 512, 4]);
    expect(JSON.stringify(orders)).toMatch(/fc:\/\/orders-app\/orders-dev-dlq/);
    expect(brief(messages)).toEqual(expect.arrayContaining(['22 resources.orders.props.cpu warning', '23 resources.orders.props.diskSize warning', '42 resources.orders.props.triggers.0 warning']));
  });
});

describe('Funcraft template.yml', () => {
  test('two services, PascalCase properties, Events as triggers, other resources skipped', async () => {
    const { template, messages } = await load(path.join(FIXTURES, 'funcraft/template.yml'));
    expect(template.functions.map((f) => `${f.serviceName}/${f.name} ${f.runtime}`)).toEqual(['images/thumbs nodejs20', 'reports/daily nodejs20']);
    const daily = fn(template, 'reports/daily');
    expect([daily.initializer, daily.initializationTimeoutMs, daily.instanceConcurrency]).toEqual(['index.initializer', 10_000, 2]);
    expect(JSON.stringify(daily)).toMatch(/fc:\/\/images\/thumbs/);
    expect(fn(template, 'images/thumbs').memorySizeMB).toBe(1024);
    expect(brief(messages)).toEqual(
      expect.arrayContaining([
        '10 Resources.images.Properties.Role warning',
        '26 Resources.images.thumbs.Events.upload warning',
        '36 Resources.reports.Properties.VpcConfig warning',
        '54 Resources.reports.daily.Events.timer warning',
        '59 Resources.reports.daily.Events.http warning',
        '64 Resources["images.example.com"] warning',
      ]),
    );
  });
});

describe('every field of the table', () => {
  test.each(Object.entries(DROPPED_FIELDS))('%s gets its message with its severity, at its line', async (field, expected) => {
    const tmp = await makeTemplateDir();
    try {
      await tmp.file('code/index.js');
      const file = await tmp.template(
        yaml`
          edition: 3.0.0
          name: app
          resources:
            f:
              component: fc3
              props:
                functionName: f
                runtime: nodejs20
                code: ./code
                handler: index.handler
                ${field}: x
        `,
        's.yaml',
      );
      const messages: LocatedImportMessage[] = [];
      const result = await loadTemplate(file, { env: {}, onImportMessage: (m) => messages.push(m) }).then(
        () => undefined,
        (e: unknown) => e,
      );
      const all = result instanceof TemplateError ? [...messages, ...result.problems.map((p) => ({ ...p, severity: 'error' as const }))] : messages;
      const mine = all.filter((m) => m.field === `resources.f.props.${field}`);
      expect(mine.map((m) => `${m.line ?? '-'}:${m.col ?? '-'} ${m.severity} ${m.reason}`)).toEqual([`11:7 ${expected.severity} ${expected.reason}`]);
      expect(result instanceof TemplateError).toBe(expected.severity === 'error');
    } finally {
      await tmp.remove();
    }
  });
});

describe('errors fail the load at their place in the source file', () => {
  test('an unsupported runtime, an archive codeUri and an unresolvable ${env()}', async ({ tmp }) => {
    await tmp.file('code/index.js');
    const file = await tmp.template(
      yaml`
        edition: 3.0.0
        name: app
        resources:
          py:
            component: fc3
            props:
              functionName: py
              runtime: python3.10
              code: ./code
              handler: index.handler
          zipped:
            component: fc3
            props:
              functionName: zipped
              runtime: nodejs18
              code: ./code.zip
              handler: index.handler
              environmentVariables:
                TOKEN: \${env(TOKEN)}
          fine:
            component: fc3
            props: { functionName: fine, runtime: nodejs20, code: ./code, handler: index.handler }
      `,
      's.yaml',
    );
    const err = await loadError(file);
    expect(err.problems.map((p) => `${p.line ?? '-'}:${p.col ?? '-'} ${p.field}`).sort()).toEqual(['16:7 resources.zipped.props.code', '19:9 resources.zipped.props.environmentVariables.TOKEN', '8:7 resources.py.props.runtime']);
    expect(err.message).toMatch(/python3\.10.*no edgefc equivalent/);
    expect(err.message).toMatch(/archive/);
    expect(err.message).toMatch(/env\(TOKEN\).*environment is not read/);
  });

  test('fc3 provisionConfig.defaultTarget becomes minInstances; its schedules are warned and dropped', async ({ tmp }) => {
    await tmp.file('code/index.js');
    const file = await tmp.template(
      yaml`
        edition: 3.0.0
        name: app
        resources:
          warm:
            component: fc3
            props:
              functionName: warm
              runtime: nodejs20
              code: ./code
              handler: index.handler
              provisionConfig:
                defaultTarget: 2
                alwaysAllocateCPU: true
                scheduledActions:
                  - name: night
                    scheduleExpression: cron(0 0 22 * * *)
                    target: 0
      `,
      's.yaml',
    );
    const { template, messages } = await load(file);
    expect(fn(template, 'app/warm').minInstances).toBe(2);
    expect(brief(messages)).toEqual(expect.arrayContaining(['13 resources.warm.props.provisionConfig.alwaysAllocateCPU info', '14 resources.warm.props.provisionConfig.scheduledActions warning']));
  });

  test("edgefc's own checks of a converted value point at the s.yaml line", async ({ tmp }) => {
    await tmp.file('code/index.js');
    const file = await tmp.template(
      yaml`
        ROSTemplateFormatVersion: '2015-09-01'
        Resources:
          svc:
            Type: 'Aliyun::Serverless::Service'
            fn:
              Type: 'Aliyun::Serverless::Function'
              Properties:
                Handler: index.handler
                Runtime: nodejs18
                CodeUri: ./code
                Timeout: ninety
                MemorySize: 64000
      `,
      'template.yml',
    );
    const err = await loadError(file);
    expect(err.problems.map((p) => `${p.line ?? '-'}:${p.col ?? '-'} ${p.field}`).sort()).toEqual(['11:18 services.svc.functions.fn.timeout', '12:21 services.svc.functions.fn.memorySize']);
  });

  test('malformed YAML in an s.yaml: line and column of the syntax error', async ({ tmp }) => {
    const file = await tmp.template('edition: 3.0.0\nresources:\n  f:\n    props: [unclosed\n', 's.yaml');
    const err = await loadError(file);
    expect(err.problems[0]?.line).toBeGreaterThanOrEqual(4);
    expect(err.problems[0]?.col).toBeDefined();
  });

  test('told by content, not name: an s.yaml saved as template.yml is converted', async ({ tmp }) => {
    await tmp.file('code/index.js');
    const file = await tmp.template(
      yaml`
        edition: 1.0.0
        services:
          a:
            component: fc
            props:
              service: { name: svc }
              function: { name: f, runtime: nodejs20, codeUri: ./code, handler: index.handler }
      `,
    );
    expect((await load(file)).template.functions.map((f) => `${f.serviceName}/${f.name}`)).toEqual(['svc/f']);
  });
});
