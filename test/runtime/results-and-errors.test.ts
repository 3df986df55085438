/**
 * FC handler semantics through a real pool and real child processes: what a handler returns,
 * what it reports, and how it can fail.
 */
import { describe, expect } from 'vitest';
import { ErrorCode, FunctionError } from '../../src/errors.js';
import { MAX_RESULT_BYTES } from '../../src/protocol/limits.js';
import { invocation, rejectionOf, test } from './harness.js';

describe('results', () => {
  test('text, object, array, number, nothing, null, Buffer', async ({ harness }) => {
    const cases: Array<[string, string, boolean]> = [
      ['index.text', 'hello world', false],
      ['index.object', '{"a":1,"list":[1,2]}', false],
      ['index.array', '[1,"two"]', false],
      ['index.number', '42', false],
      ['index.nothing', '', false],
      ['index.nullResult', '', false],
    ];
    for (const [handler, expected, binary] of cases) {
      const pool = harness.pool({ handler });
      const result = await pool.invoke(invocation({ payload: 'world' }));
      expect(result.payload.toString(), handler).toBe(expected);
      expect(result.binary, handler).toBe(binary);
    }
    const buffer = await harness.pool({ handler: 'index.buffer' }).invoke(invocation());
    expect(buffer.binary).toBe(true);
    expect([...buffer.payload]).toEqual([0, 1, 2, 255]);
  });

  // The channel's decoder hands bytes back as views into the whole read; the replay cache keeps
  // results for minutes, so a view would keep the call's 200 KiB of log lines alive with it.
  test('a small result does not keep the channel read it arrived in (its log lines) alive', async ({ harness }) => {
    const result = await harness.pool({ handler: 'index.chatty' }).invoke(invocation());
    expect(result.payload.toString()).toBe('done');
    expect(result.payload.buffer.byteLength).toBeLessThanOrEqual(8 * 1024);
  });

  test('the event arrives as a Buffer, bytes intact', async ({ harness }) => {
    const bytes = Buffer.from([0, 255, 10, 13, 0x80, 0xfe]);
    const result = await harness.pool({ handler: 'index.echo' }).invoke(invocation({ payload: bytes }));
    expect(result.binary).toBe(true);
    expect(result.payload.equals(bytes)).toBe(true);
  });

  test('only the first callback counts', async ({ harness }) => {
    const pool = harness.pool({ handler: 'index.callbackTwice' });
    expect((await pool.invoke(invocation())).payload.toString()).toBe('first');
    // The instance is still fine for the next call.
    expect((await pool.invoke(invocation())).payload.toString()).toBe('first');
  });

  test('async handlers: resolved value is the result; a 3-parameter async handler uses its callback', async ({
    harness,
  }) => {
    const value = await harness.pool({ handler: 'index.asyncValue' }).invoke(invocation({ payload: 'x' }));
    expect(value.payload.toString()).toBe('{"got":"x"}');
    const viaCallback = await harness.pool({ handler: 'index.asyncWithCallback' }).invoke(invocation());
    expect(viaCallback.payload.toString()).toBe('via callback');
  });

  test('an ES module handler (.mjs)', async ({ harness }) => {
    const inv = invocation({ payload: 'esm!' });
    const result = await harness.pool({ dir: 'esm', handler: 'index.handler' }).invoke(inv);
    expect(JSON.parse(result.payload.toString())).toEqual({ esm: true, event: 'esm!', requestId: inv.requestId });
  });

  test('a result over MAX_RESULT_BYTES is an UnhandledInvocationError', async ({ harness }) => {
    const err = await rejectionOf(harness.pool({ handler: 'index.bigResult' }).invoke(invocation()));
    expect(err.code).toBe(ErrorCode.UnhandledInvocationError);
    expect(err['errorType']).toBe('ResultTooLarge');
    expect(err.message).toContain(String(MAX_RESULT_BYTES));
  });
});

describe('errors', () => {
  test('callback(err) → HandledInvocationError with FC fields', async ({ harness }) => {
    const inv = invocation();
    const err = await rejectionOf(harness.pool({ handler: 'index.handledError' }).invoke(inv));
    expect(err).toBeInstanceOf(FunctionError);
    expect(err.code).toBe(ErrorCode.HandledInvocationError);
    expect(err['errorType']).toBe('TypeError');
    expect(err['errorMessage']).toBe('bad input');
    expect(err['requestId']).toBe(inv.requestId);
    const trace = err['stackTrace'] as string[];
    expect(trace.length).toBeGreaterThan(0);
    expect(trace[0]).toMatch(/^at .*basic[/\\]index\.js/);
    expect(trace.every((line) => line === line.trim() && line !== '')).toBe(true);
  });

  test('callback("string") → HandledInvocationError, errorType Error', async ({ harness }) => {
    const err = await rejectionOf(harness.pool({ handler: 'index.handledString' }).invoke(invocation()));
    expect(err.code).toBe(ErrorCode.HandledInvocationError);
    expect(err['errorType']).toBe('Error');
    expect(err['errorMessage']).toBe('plain failure');
  });

  test('sync throw and rejected promise → UnhandledInvocationError; the instance survives', async ({ harness }) => {
    const throwing = harness.pool({ handler: 'index.throwSync' });
    const err = await rejectionOf(throwing.invoke(invocation()));
    expect(err.code).toBe(ErrorCode.UnhandledInvocationError);
    expect(err['errorType']).toBe('RangeError');
    expect(err['errorMessage']).toBe('sync boom');
    await rejectionOf(throwing.invoke(invocation()));
    expect(harness.pids).toHaveLength(1);

    const rejecting = await rejectionOf(harness.pool({ handler: 'index.reject' }).invoke(invocation()));
    expect(rejecting.code).toBe(ErrorCode.UnhandledInvocationError);
    expect(rejecting['errorMessage']).toBe('async boom');
  });

  test('a throw from a timer kills the instance; the next call gets a new one', async ({ harness }) => {
    const pool = harness.pool({ handler: 'index.timerThrow', timeoutMs: 2_000 });
    const err = await rejectionOf(pool.invoke(invocation({ payload: 'crash' })));
    expect(err.code).toBe(ErrorCode.UnhandledInvocationError);
    expect(err['errorType']).toBe('Error');
    expect(err['errorMessage']).toBe('timer boom');
    const next = await pool.invoke(invocation());
    expect(harness.pids).toHaveLength(2);
    expect(next.payload.toString()).toBe(String(harness.pids[1]));
  });

  test('process.exit() → UnhandledInvocationError ProcessExited; the next call works on a new instance', async ({
    harness,
  }) => {
    const config = harness.config({ handler: 'index.exit' });
    const runtime = harness.runtime();
    const instance = await runtime.startInstance(config);
    const err = await rejectionOf(instance.invoke(invocation({ payload: 'exit' })));
    expect(err.code).toBe(ErrorCode.UnhandledInvocationError);
    expect(err['errorType']).toBe('ProcessExited');
    expect(err.message).toContain('exit code 3');
    expect(instance.usable).toBe(false);

    const pool = harness.pool({ handler: 'index.exit' });
    const first = await rejectionOf(pool.invoke(invocation({ payload: 'exit' })));
    expect(first['errorType']).toBe('ProcessExited');
    const next = await pool.invoke(invocation());
    expect(harness.pids).toHaveLength(3);
    expect(next.payload.toString()).toBe(String(harness.pids[2]));
    expect(pool.stats()).toMatchObject({ instances: 1, completed: 1, failed: 1 });
  });

  test('a missing handler export or file fails the start with HandlerNotFound', async ({ harness }) => {
    const missingExport = await rejectionOf(harness.pool({ dir: 'broken', handler: 'index.handler' }).invoke(invocation()));
    expect(missingExport.code).toBe(ErrorCode.UnhandledInvocationError);
    expect(missingExport['errorType']).toBe('HandlerNotFound');

    const missingFile = await rejectionOf(harness.pool({ dir: 'broken', handler: 'nope.handler' }).invoke(invocation()));
    expect(missingFile['errorType']).toBe('HandlerNotFound');

    const escaping = await rejectionOf(harness.pool({ dir: 'broken', handler: '../basic/index.text' }).invoke(invocation()));
    expect(escaping['errorType']).toBe('HandlerNotFound');

    const syntax = await rejectionOf(harness.pool({ dir: 'broken', handler: 'syntax.handler' }).invoke(invocation()));
    expect(syntax.code).toBe(ErrorCode.UnhandledInvocationError);
    expect(syntax['errorType']).toBe('SyntaxError');
  });

  test('a missing code directory is ServiceUnavailable', async ({ harness }) => {
    const err = await rejectionOf(harness.pool({ dir: 'does-not-exist' }).invoke(invocation()));
    expect(err.code).toBe(ErrorCode.ServiceUnavailable);
  });
});
