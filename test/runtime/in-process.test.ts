/**
 * `isolation: none` (docs/runtime-node.md §9): a Node.js handler run inside the gateway process
 * keeps FC's handler semantics, its context, timeouts and log attribution, and starts no
 * process. The crash cases (uncaught exceptions, rejections) run against a gateway process in
 * test/integration/in-process-gateway.test.ts: in this worker the test runner itself listens
 * for uncaught errors.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect } from 'vitest';
import { ErrorCode } from '../../src/errors.js';
import type { FunctionSpec } from '../../gateway/registry/types.js';
import { invocation, parseResult, rejectionOf, test } from './harness.js';

const inProcess = (overrides: Partial<FunctionSpec> & { dir?: string } = {}): Partial<FunctionSpec> & { dir?: string } => ({
  isolation: 'none',
  ...overrides,
});

describe('isolation: none', () => {
  test('runs in the gateway process and starts no process', async ({ harness }) => {
    const pool = harness.pool(inProcess({ handler: 'index.pid' }));
    const result = await pool.invoke(invocation());
    expect(Number(result.payload.toString())).toBe(process.pid);
    expect(harness.pids).toEqual([]);
  });

  test('results and errors follow the same rules as in a function process', async ({ harness }) => {
    const text = await harness.pool(inProcess({ handler: 'index.text' })).invoke(invocation({ payload: 'world' }));
    expect(text).toMatchObject({ binary: false });
    expect(text.payload.toString()).toBe('hello world');
    const object = await harness.pool(inProcess({ handler: 'index.object' })).invoke(invocation());
    expect(object.payload.toString()).toBe('{"a":1,"list":[1,2]}');
    const bytes = Buffer.from([0, 255, 10]);
    const echo = await harness.pool(inProcess({ handler: 'index.echo' })).invoke(invocation({ payload: bytes }));
    expect(echo.binary).toBe(true);
    expect(echo.payload.equals(bytes)).toBe(true);
    const viaCallback = await harness.pool(inProcess({ handler: 'index.asyncWithCallback' })).invoke(invocation());
    expect(viaCallback.payload.toString()).toBe('via callback');

    const handled = await rejectionOf(harness.pool(inProcess({ handler: 'index.handledError' })).invoke(invocation()));
    expect(handled).toMatchObject({ code: ErrorCode.HandledInvocationError, errorType: 'TypeError', errorMessage: 'bad input' });
    const thrown = await rejectionOf(harness.pool(inProcess({ handler: 'index.throwSync' })).invoke(invocation()));
    expect(thrown).toMatchObject({ code: ErrorCode.UnhandledInvocationError, errorType: 'RangeError', errorMessage: 'sync boom' });
    // The stack ends at the handler: the gateway's frames are not the function's business.
    expect(thrown['stackTrace']).toEqual([expect.stringContaining('basic/index.js')]);
    const rejected = await rejectionOf(harness.pool(inProcess({ handler: 'index.reject' })).invoke(invocation()));
    expect(rejected).toMatchObject({ code: ErrorCode.UnhandledInvocationError, errorMessage: 'async boom' });
    const big = await rejectionOf(harness.pool(inProcess({ handler: 'index.bigResult' })).invoke(invocation()));
    expect(big).toMatchObject({ code: ErrorCode.UnhandledInvocationError, errorType: 'ResultTooLarge' });
  });

  test('an ES module handler, and require/import of linkedge-core-sdk', async ({ harness }) => {
    const call = invocation({ payload: 'esm!' });
    const esm = await harness.pool(inProcess({ dir: 'esm', handler: 'index.handler' })).invoke(call);
    expect(JSON.parse(esm.payload.toString())).toEqual({ esm: true, event: 'esm!', requestId: call.requestId });
    const sdk = parseResult(await harness.pool(inProcess({ handler: 'index.sdk' })).invoke(invocation()));
    expect(sdk).toMatchObject({ resolved: expect.stringContaining('runtime-modules'), fcClient: 'function' });
  });

  test('the context: request ID, function, service, identity, invokerContext', async ({ harness }) => {
    const call = invocation({ invokerContext: { trace: 't-1' } });
    const pool = harness.pool(inProcess({ handler: 'index.context', memorySizeMB: 256, timeoutMs: 7_000 }));
    const seen = parseResult(await pool.invoke(call));
    expect(seen).toMatchObject({
      requestId: call.requestId,
      function: { name: 'fn', handler: 'index.context', memory: 256, timeout: 7 },
      service: { name: 'svc', qualifier: 'LATEST' },
      region: 'cn-test-1',
      accountId: '1234567890',
      credentials: { accessKeyId: 'AK' },
      invokerContext: { trace: 't-1' },
      signal: true,
    });
  });

  test('a call past its timeout → FunctionTimeout on time, its signal aborted, its late answer dropped', async ({ harness }) => {
    const pool = harness.pool(inProcess({ handler: 'index.onAbort', timeoutMs: 200 }));
    const file = join(harness.tmpDir(), 'aborted');
    const started = Date.now();
    const err = await rejectionOf(pool.invoke(invocation({ payload: JSON.stringify({ file }) })));
    expect(err.code).toBe(ErrorCode.FunctionTimeout);
    expect(Date.now() - started).toBeLessThan(200 + 100);
    await expect.poll(() => existsSync(file)).toBe(true);
    expect(readFileSync(file, 'utf8')).toBe('FunctionTimeoutError:FunctionTimeout');

    const slow = harness.pool(inProcess({ handler: 'index.slow', timeoutMs: 100 }));
    expect((await rejectionOf(slow.invoke(invocation({ payload: '300' })))).code).toBe(ErrorCode.FunctionTimeout);
    // The same instance serves the next call; the first call's late callback changes nothing.
    expect(JSON.parse((await slow.invoke(invocation({ payload: '1' }))).payload.toString())).toMatchObject({ pid: process.pid });
  });

  test('console output is the function\'s, tagged with the request ID of the call that wrote it', async ({ harness }) => {
    const pool = harness.pool(inProcess({ handler: 'index.logs', instanceConcurrency: 2 }));
    const [a, b] = [invocation({ payload: 'A' }), invocation({ payload: 'B' })];
    await Promise.all([pool.invoke(a), pool.invoke(b)]);
    const lines = (id: string): string[] => harness.logs.filter((line) => line.requestId === id).map((line) => `${line.level} ${line.message}`);
    expect(lines(a.requestId)).toEqual(['info log A', 'info info A', 'warn warn A', 'error error A', 'verbose debug A', 'info later A']);
    expect(lines(b.requestId)).toEqual(['info log B', 'info info B', 'warn warn B', 'error error B', 'verbose debug B', 'info later B']);
    // Outside a call, console is the gateway's own again: nothing of this reaches the function.
    console.debug('a line of the gateway, not of the function');
    expect(harness.logs.some((line) => line.message.includes('of the gateway'))).toBe(false);
  });

  test('process.exit inside a call throws instead of ending the gateway', async ({ harness }) => {
    const pool = harness.pool(inProcess({ handler: 'index.exit' }));
    const err = await rejectionOf(pool.invoke(invocation({ payload: 'exit' })));
    expect(err).toMatchObject({ code: ErrorCode.UnhandledInvocationError, errorType: 'ProcessExitRefused' });
    expect((await pool.invoke(invocation({ payload: 'fine' }))).payload.toString()).toBe(String(process.pid));
  });

  test('the initializer runs once, before the first call; a failing one is retried by the next call', async ({ harness }) => {
    const dir = harness.tmpDir();
    // The function reads STATE_DIR from process.env: in-process, that is the gateway's.
    process.env['STATE_DIR'] = dir;
    try {
      const once = harness.pool(inProcess({ dir: 'init', handler: 'index.handler', initializer: 'index.once' }));
      for (let i = 0; i < 3; i++) await once.invoke(invocation());
      expect(readFileSync(join(dir, 'once'), 'utf8').trim().split('\n')).toHaveLength(1);

      const flaky = harness.pool(inProcess({ dir: 'init', handler: 'index.handler', initializer: 'index.flaky' }));
      const first = await rejectionOf(flaky.invoke(invocation()));
      expect(first).toMatchObject({ code: ErrorCode.InitializationError, errorMessage: 'not ready yet' });
      await flaky.invoke(invocation());
      expect(readFileSync(join(dir, 'flaky'), 'utf8').trim().split('\n')).toHaveLength(2);
    } finally {
      delete process.env['STATE_DIR'];
    }
  });

  test('a handler that does not load fails its calls with its own error', async ({ harness }) => {
    const err = await rejectionOf(harness.pool(inProcess({ handler: 'index.missing' })).invoke(invocation()));
    expect(err).toMatchObject({ code: ErrorCode.UnhandledInvocationError, errorType: 'HandlerNotFound' });
  });

  test('shutdown: a call in flight fails ServiceUnavailable', async ({ harness }) => {
    const pool = harness.pool(inProcess({ handler: 'index.hold' }));
    const dir = harness.tmpDir();
    const touch = join(dir, 'started');
    const call = rejectionOf(pool.invoke(invocation({ payload: JSON.stringify({ file: join(dir, 'never'), touch }) })));
    await expect.poll(() => existsSync(touch)).toBe(true);
    await pool.close({ graceMs: 0 });
    expect((await call).code).toBe(ErrorCode.ServiceUnavailable);
  });
});
