/**
 * What an instance may not do: run past its timeout, block its event loop, spawn processes that
 * outlive it, or use more memory than memorySize. The gateway (this test process) must come
 * through every one of them unharmed.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect } from 'vitest';
import { ErrorCode } from '../../src/errors.js';
import { processGroupMembers } from '../../gateway/runtime/process/process-tree.js';
import { invocation, rejectionOf, test } from './harness.js';

/** Allowed lateness of a FunctionTimeout past the budget (the brief: within timeout + 100 ms). */
const TIMEOUT_SLACK_MS = 100;

describe('timeouts', () => {
  test('an infinite loop → FunctionTimeout within timeout + 100 ms; the next call works', async ({ harness }) => {
    const instance = await harness.runtime().startInstance(harness.config({ handler: 'index.loop', timeoutMs: 300 }));
    const started = Date.now();
    const err = await rejectionOf(instance.invoke(invocation({ payload: 'loop' })));
    expect(err.code).toBe(ErrorCode.FunctionTimeout);
    expect(Date.now() - started).toBeLessThan(300 + TIMEOUT_SLACK_MS);
    // No pong from a spinning event loop: the instance is killed.
    await expect.poll(() => instance.usable).toBe(false);

    const pool = harness.pool({ handler: 'index.loop', timeoutMs: 300 });
    expect((await rejectionOf(pool.invoke(invocation({ payload: 'loop' })))).code).toBe(ErrorCode.FunctionTimeout);
    // The next call waits for the verdict on the stuck instance, then runs on a new one.
    const next = await pool.invoke(invocation());
    expect(next.payload.toString()).toBe(String(harness.pids.at(-1)));
    expect(harness.pids).toHaveLength(3);
  });

  test('the call runs for min(deadline, timeout); the deadline wins when it is nearer', async ({ harness }) => {
    const instance = await harness.runtime().startInstance(harness.config({ handler: 'index.loop', timeoutMs: 10_000 }));
    const started = Date.now();
    const err = await rejectionOf(instance.invoke(invocation({ payload: 'loop', deadline: started + 250 })));
    expect(err.code).toBe(ErrorCode.FunctionTimeout);
    expect(err.message).toContain("caller's deadline");
    expect(Date.now() - started).toBeLessThan(250 + TIMEOUT_SLACK_MS);
  });

  test('a slow but healthy instance keeps running after a timeout; context.signal is aborted', async ({
    harness,
  }) => {
    const dir = harness.tmpDir();
    const file = join(dir, 'aborted');
    const instance = await harness.runtime().startInstance(harness.config({ handler: 'index.onAbort', timeoutMs: 200 }));
    const err = await rejectionOf(instance.invoke(invocation({ payload: JSON.stringify({ file }) })));
    expect(err.code).toBe(ErrorCode.FunctionTimeout);
    await expect.poll(() => readFileSync(file, 'utf8')).toBe('FunctionTimeoutError:FunctionTimeout');
    // It answers the liveness ping, so it stays.
    await expect.poll(() => instance.inFlight).toBe(0);
    expect(instance.usable).toBe(true);
    await instance.stop();
  });

  test("execSync('sleep 60') → FunctionTimeout, and no sleep process survives", async ({ harness }) => {
    const runtime = harness.runtime();
    const instance = await runtime.startInstance(harness.config({ handler: 'index.sleep', timeoutMs: 300 }));
    const [pgid] = harness.pids;
    const call = instance.invoke(invocation());
    // The sleep is running inside the instance's process group.
    await expect.poll(() => processGroupMembers(pgid!).length).toBeGreaterThan(1);
    const err = await rejectionOf(call);
    expect(err.code).toBe(ErrorCode.FunctionTimeout);
    // execSync blocks the event loop: no pong, so the whole group is killed.
    await expect.poll(() => processGroupMembers(pgid!)).toEqual([]);
    expect(instance.usable).toBe(false);
  });

  test('other calls on an instance killed for being stuck fail typed', async ({ harness }) => {
    const config = harness.config({ handler: 'index.loop', timeoutMs: 5_000, instanceConcurrency: 2 });
    const instance = await harness.runtime().startInstance(config);
    // The first call loops for ever and times out at its 300 ms deadline; the second, queued
    // behind it in the child, would have 5 s but dies with the instance.
    const first = instance.invoke(invocation({ payload: 'loop', deadline: Date.now() + 300 }));
    const second = instance.invoke(invocation());
    const [a, b] = await Promise.all([rejectionOf(first), rejectionOf(second)]);
    expect(a.code).toBe(ErrorCode.FunctionTimeout);
    expect(b.code).toBe(ErrorCode.UnhandledInvocationError);
    expect(b['errorType']).toBe('InstanceUnresponsive');
    expect(instance.inFlight).toBe(0);
  });
});

describe('memory', () => {
  test('1 GiB of Buffers with memorySize 128 → MemoryLimitExceeded; the gateway is fine', async ({ harness }) => {
    const pool = harness.pool({ handler: 'index.hog', memorySizeMB: 128, timeoutMs: 10_000 });
    const before = process.memoryUsage().rss;
    const err = await rejectionOf(pool.invoke(invocation()));
    expect(err.code).toBe(ErrorCode.UnhandledInvocationError);
    expect(err['errorType']).toBe('MemoryLimitExceeded');
    expect(err.message).toContain('128 MB');
    // The gateway did not absorb the function's memory.
    expect(process.memoryUsage().rss - before).toBeLessThan(64 * 1024 * 1024);
  });

  test('a full JS heap → MemoryLimitExceeded as well', async ({ harness }) => {
    const err = await rejectionOf(harness.pool({ handler: 'index.heap', memorySizeMB: 128 }).invoke(invocation()));
    expect(err.code).toBe(ErrorCode.UnhandledInvocationError);
    expect(err['errorType']).toBe('MemoryLimitExceeded');
  });
});

describe('start', () => {
  test('a module that never finishes loading fails the start after startTimeoutMs', async ({ harness }) => {
    const pool = harness.pool({ dir: 'broken', handler: 'hang.handler' }, { runtime: { startTimeoutMs: 300 } });
    const started = Date.now();
    const err = await rejectionOf(pool.invoke(invocation()));
    expect(err.code).toBe(ErrorCode.ServiceUnavailable);
    expect(err.message).toContain('300 ms');
    expect(Date.now() - started).toBeLessThan(1_000);
  });
});
