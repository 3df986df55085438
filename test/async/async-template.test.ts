/**
 * Topic filters (docs/protocol.md §11.1), the template's asyncConfiguration and triggers, the
 * loop check (§11.3), and functions/README.md's async table kept in step with the schema.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadTemplate } from '../../gateway/registry/load-template.js';
import { ASYNC_CONFIG_FIELDS, ASYNC_LIMITS } from '../../gateway/registry/template-schema.js';
import { topicMatches, triggerFilterProblem } from '../../src/protocol/topic-filter.js';
import { makeTemplateDir, type TemplateDir } from '../registry/template-dir.js';

describe('topic filters', () => {
  it.each([
    ['sensors/+/temp', 'sensors/a/temp', true],
    ['sensors/+/temp', 'sensors/a/b/temp', false],
    ['sensors/+/temp', 'sensors/temp', false],
    ['alarms/#', 'alarms', true],
    ['alarms/#', 'alarms/x/y/z', true],
    ['alarms/#', 'alarmsx/y', false],
    ['a/b', 'a/b', true],
    ['a/b', 'a/b/c', false],
    ['a/+', 'a/', true],
  ])('%s matches %s: %s', (filter, topic, expected) => {
    expect(topicMatches(filter, topic)).toBe(expected);
  });

  it.each(['#', '+/x', '/x', 'edgefc/v1/reply/#', '$SYS/#', 'a/#/b', 'a/b#', 'a/+b', ''])('refuses %j', (filter) => {
    expect(triggerFilterProblem(filter)).toBeTypeOf('string');
  });
});

describe('template: asyncConfiguration and triggers', () => {
  let dir: TemplateDir;
  afterEach(async () => dir.remove());

  const load = async (functions: string): Promise<unknown> => {
    dir = await makeTemplateDir();
    await dir.file('f/index.js');
    const file = await dir.template(`edgefc: 1\nservices:\n  S:\n    functions:\n${functions}`);
    return loadTemplate(file).then((t) => t, (e: unknown) => e);
  };
  const fn = (name: string, extra = ''): string => `      ${name}:\n        runtime: nodejs20\n        handler: index.handler\n        codeUri: ./f\n${extra}`;

  it('reads FC names, destinations and triggers', async () => {
    const template = (await load(
      fn(
        'a',
        [
          'asyncConfiguration:',
          '  maxAsyncRetryAttempts: 1',
          '  maxAsyncEventAgeInSeconds: 60',
          '  destinationConfig:',
          '    onSuccess: { destination: mqtt://out/a }',
          '    onFailure: { destination: fc://S/b }',
          'triggers:',
          '  - topic: in/+/a',
        ].map((line) => `        ${line}\n`).join(''),
      ) + fn('b'),
    )) as { functions: { name: string; asyncConfiguration?: unknown; triggers?: unknown }[] };
    expect(template.functions[0]).toMatchObject({
      asyncConfiguration: {
        maxAsyncRetryAttempts: 1,
        maxAsyncEventAgeMs: 60_000,
        maxAsyncQueueLength: ASYNC_LIMITS.maxAsyncQueueLength.default,
        onSuccess: { kind: 'mqtt', topic: 'out/a' },
        onFailure: { kind: 'fc', serviceName: 'S', functionName: 'b' },
      },
      triggers: [{ name: 'in/+/a', type: 'mqtt', topic: 'in/+/a' }],
    });
    expect(template.functions[1]).not.toHaveProperty('asyncConfiguration');
  });

  it('takes an event age of up to 7 days, FC\'s range', async () => {
    const week = (await load(fn('a', '        asyncConfiguration:\n          maxAsyncEventAgeInSeconds: 604800\n'))) as { functions: { asyncConfiguration?: { maxAsyncEventAgeMs: number } }[] };
    expect(week.functions[0]?.asyncConfiguration?.maxAsyncEventAgeMs).toBe(604_800_000);
    const longer = (await load(fn('a', '        asyncConfiguration:\n          maxAsyncEventAgeInSeconds: 604801\n'))) as Error;
    expect(longer.message).toContain('maxAsyncEventAgeInSeconds: must be an integer number of seconds from 1 to 604800');
  });

  it('reports bad values with their field path', async () => {
    const error = (await load(
      fn('a', '        asyncConfiguration:\n          maxAsyncRetryAttempts: 9\n          destinationConfig:\n            onSuccess: { destination: "http://x" }\n        triggers:\n          - topic: "#"\n'),
    )) as { code: string; message: string };
    expect(error.code).toBe('InvalidArgument');
    expect(error.message).toContain('asyncConfiguration.maxAsyncRetryAttempts: must be an integer from 0 to 8');
    expect(error.message).toContain('must be mqtt://TOPIC or fc://SERVICE/FUNCTION');
    expect(error.message).toMatch(/triggers\.0\.topic: topic filter "#" must start with a literal topic level/);
  });

  it('refuses destinations that name no function, and loops through triggers or fc://', async () => {
    const missing = (await load(fn('a', '        asyncConfiguration:\n          destinationConfig:\n            onFailure: { destination: fc://S/nope }\n'))) as Error;
    expect(missing.message).toContain('fc://S/nope names no function of this template');
    const viaTopic = (await load(
      fn('a', '        asyncConfiguration:\n          destinationConfig:\n            onSuccess: { destination: mqtt://loop/a }\n        triggers:\n          - topic: loop/+\n'),
    )) as Error;
    expect(viaTopic.message).toContain('form a loop: S/a -> S/a');
    const viaChain = (await load(
      fn('a', '        asyncConfiguration:\n          destinationConfig:\n            onSuccess: { destination: fc://S/b }\n') +
        fn('b', '        asyncConfiguration:\n          destinationConfig:\n            onFailure: { destination: mqtt://back/a }\n') +
        fn('c', '        triggers:\n          - topic: back/#\n        asyncConfiguration:\n          destinationConfig:\n            onSuccess: { destination: fc://S/a }\n'),
    )) as Error;
    expect(viaChain.message).toMatch(/form a loop: S\/a -> S\/b -> S\/c -> S\/a/);
  });
});

describe('functions/README.md', () => {
  it('documents every asyncConfiguration field with its default and range', () => {
    const readme = readFileSync(path.resolve(import.meta.dirname, '../../functions/README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('\n### Async configuration\n'), readme.indexOf('\n### Triggers\n'));
    const rows = new Map(
      section.split('\n').flatMap((line) => {
        const match = /^\| `([A-Za-z]+)` \|(.*)\|$/.exec(line);
        return match?.[1] === undefined ? [] : [[match[1], (match[2] ?? '').split('|').map((c) => c.trim())] as const];
      }),
    );
    expect([...rows.keys()]).toEqual([...ASYNC_CONFIG_FIELDS]);
    for (const [field, rule] of Object.entries(ASYNC_LIMITS)) {
      expect(rows.get(field)?.slice(0, 2), field).toEqual([String(rule.default), `${rule.min}–${rule.max}`]);
    }
  });
});
