/**
 * The shipped templates load, and the sample handlers that need no gateway behave as the
 * README says (the invoker needs a gateway; the runtime's tests run it end to end).
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, test } from 'vitest';
import { loadTemplate } from '../../gateway/registry/load-template.js';
import { Registry } from '../../gateway/registry/registry.js';

const root = path.resolve(import.meta.dirname, '../..');
const require = createRequire(import.meta.url);

type Callback = (err: Error | null, data?: unknown) => void;
type CallbackHandler = (event: Buffer, context: Record<string, unknown>, callback: Callback) => void;

function callHandler(file: string, event: Buffer, context: Record<string, unknown> = {}): Promise<unknown> {
  const mod = require(path.join(root, file)) as { handler: CallbackHandler };
  return new Promise((resolve, reject) => {
    mod.handler(event, context, (err, data) => (err === null ? resolve(data) : reject(err)));
  });
}

describe('shipped templates', () => {
  test('functions/template.yml loads with the five Node.js samples and three of other runtimes', async () => {
    const template = await loadTemplate(path.join(root, 'functions/template.yml'), { env: {} });
    const registry = new Registry(template);
    expect(registry.functions().map((f) => `${f.serviceName}/${f.name}`)).toEqual([
      'EdgeFC/helloworld',
      'EdgeFC/invoker',
      'EdgeFC/jsonfield',
      'EdgeFC/asynchello',
      'EdgeFC/echo',
      'Runtimes/customweb',
      'Runtimes/customevent',
      'Runtimes/goapi',
    ]);
    expect(registry.lookup('EdgeFC', 'invoker').fn.timeoutMs).toBe(10_000);
    expect(registry.lookup('EdgeFC', 'helloworld').fn.codeDir).toBe(path.join(root, 'functions/helloworld'));
  });

  test('test/fixtures/seed003/template.yml loads', async () => {
    const template = await loadTemplate(path.join(root, 'test/fixtures/seed003/template.yml'), { env: {} });
    expect(template.functions.map((f) => `${f.serviceName}/${f.name}`)).toEqual(['EdgeFC/helloworld', 'EdgeFC/invoker']);
  });
});

describe('sample handlers', () => {
  test('helloworld answers its fixed text', async () => {
    await expect(callHandler('functions/helloworld/index.js', Buffer.from('hi'), { invokerContext: { a: 1 } })).resolves.toBe(
      'Hello from edgefc helloworld',
    );
  });

  test('jsonfield answers the key field, and refuses what is not a JSON object with a key', async () => {
    const file = 'functions/jsonfield/index.js';
    await expect(callHandler(file, Buffer.from('{"key":"value"}'))).resolves.toBe('value');
    await expect(callHandler(file, Buffer.from('{"key":{"n":1}}'))).resolves.toEqual({ n: 1 });
    await expect(callHandler(file, Buffer.from('not json'))).rejects.toThrow(/^jsonfield: the event is not valid JSON/);
    await expect(callHandler(file, Buffer.from('[1]'))).rejects.toThrow('jsonfield: the event must be a JSON object');
    await expect(callHandler(file, Buffer.from('{}'))).rejects.toThrow('jsonfield: the event has no "key" field');
  });

  test('echo answers the same bytes', async () => {
    const event = Buffer.from([0, 1, 2, 255]);
    await expect(callHandler('functions/echo/index.js', event)).resolves.toBe(event);
  });

  test('asynchello is an async ES module handler', async () => {
    const mod = (await import(pathToFileURL(path.join(root, 'functions/asynchello/index.mjs')).href)) as {
      handler: (event: Buffer, context: Record<string, unknown>) => Promise<unknown>;
    };
    await expect(mod.handler(Buffer.from('Ada'), { requestId: 'r1' })).resolves.toEqual({
      greeting: 'Hello from edgefc asynchello, Ada',
      bytes: 3,
      requestId: 'r1',
    });
  });
});
