/**
 * FCClient refuses bad input itself, before it connects: each case is the typed error the
 * gateway would give, without a round trip. The broker URL points nowhere, so a test that got
 * past validation would fail with ServiceUnavailable instead.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { FCClient, type InvokeParams } from '../../src/index.js';

const nowhere = 'mqtt://127.0.0.1:1';
let client: FCClient;

afterEach(async () => {
  expect(client.pendingCount).toBe(0);
  await client.close();
});

async function codeOf(params: unknown): Promise<string | undefined> {
  client = new FCClient({ brokerUrl: nowhere, connectTimeout: 200 });
  try {
    await client.invokeFunction(params as InvokeParams);
  } catch (error) {
    return (error as { code?: string }).code;
  }
  return undefined;
}

const ok = { serviceName: 'EdgeFC', functionName: 'helloworld' };
const b64 = (text: string): string => Buffer.from(text).toString('base64');

describe('FCClient input validation', () => {
  it.each([
    ['no params', undefined],
    ['a missing serviceName', { functionName: 'f' }],
    ['a missing functionName', { serviceName: 's' }],
    ['a serviceName with a slash', { ...ok, serviceName: 'a/b' }],
    ['a functionName starting with a digit', { ...ok, functionName: '1f' }],
    ['a 129-character name', { ...ok, functionName: 'f'.repeat(129) }],
    ['invocationType "sync" (case matters)', { ...ok, invocationType: 'sync' }],
    ['invocationType "Later"', { ...ok, invocationType: 'Later' }],
    ['a garbage invokerContext string', { ...ok, invokerContext: `${b64('{}')}!!` }],
    ['an invokerContext of an array', { ...ok, invokerContext: b64('[1]') }],
    ['an invokerContext array value', { ...ok, invokerContext: [1, 2] }],
    ['an invokerContext over 4 KiB', { ...ok, invokerContext: { pad: 'x'.repeat(5000) } }],
    ['a numeric payload', { ...ok, payload: 42 }],
    ['an object payload', { ...ok, payload: { a: 1 } }],
    ['a Sync payload over 6 MiB', { ...ok, payload: Buffer.alloc(6 * 1024 * 1024 + 1) }],
    ['an Async payload over 128 KiB', { ...ok, invocationType: 'Async', payload: Buffer.alloc(128 * 1024 + 1) }],
    ['a zero timeout', { ...ok, timeout: 0 }],
    ['a fractional timeout', { ...ok, timeout: 2.5 }],
    ['a requestId with spaces', { ...ok, requestId: 'a b' }],
  ])('refuses %s with InvalidArgument', async (_name, params) => {
    expect(await codeOf(params)).toBe('InvalidArgument');
  });

  it('gets past validation with good input (and then fails to connect, typed)', async () => {
    expect(await codeOf(ok)).toBe('ServiceUnavailable');
  });

  it('fails at once with Aborted for an already aborted signal', async () => {
    expect(await codeOf({ ...ok, signal: AbortSignal.abort() })).toBe('Aborted');
  });

  it('reports validation errors through the callback too', async () => {
    client = new FCClient({ brokerUrl: nowhere });
    const err = await new Promise<Error | null>((resolve) => {
      client.invokeFunction({ ...ok, invocationType: 'Later' as 'Sync' }, (e) => resolve(e));
    });
    expect(err).toMatchObject({ code: 'InvalidArgument' });
  });

  it('refuses a callback that is not a function', () => {
    client = new FCClient({ brokerUrl: nowhere });
    expect(() => client.invokeFunction(ok, 'nope' as never)).toThrow(expect.objectContaining({ code: 'InvalidArgument' }));
  });

  it('refuses a client ID that would break its reply topic', () => {
    client = new FCClient({ brokerUrl: nowhere });
    expect(() => new FCClient({ clientId: 'dev/1' })).toThrow(expect.objectContaining({ code: 'InvalidArgument' }));
  });

  it('refuses publishing to a wildcard topic', async () => {
    client = new FCClient({ brokerUrl: nowhere });
    await expect(client.publish('sensors/+', 'x')).rejects.toMatchObject({ code: 'InvalidArgument' });
  });
});

describe('FCClient options', () => {
  it('refuses a reconnectAfterTimeouts that is not a whole number ≥ 0 (InvalidArgument)', async () => {
    for (const bad of [-1, 1.5, '3']) {
      expect(() => new FCClient({ brokerUrl: nowhere, reconnectAfterTimeouts: bad as number })).toThrow(expect.objectContaining({ code: 'InvalidArgument' }));
    }
    client = new FCClient({ brokerUrl: nowhere, reconnectAfterTimeouts: 0 });
  });

  it('refuses a syncRequestQos other than 0 or 1 (InvalidArgument)', async () => {
    for (const bad of [2, -1, '1', null]) {
      expect(() => new FCClient({ brokerUrl: nowhere, syncRequestQos: bad as 0 })).toThrow(expect.objectContaining({ code: 'InvalidArgument' }));
    }
    client = new FCClient({ brokerUrl: nowhere, syncRequestQos: 1 });
  });
});
