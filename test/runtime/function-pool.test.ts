/**
 * The pool in front of one function: concurrency per instance, maxInstances, the bounded
 * queue, deadlines, and shutdown.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { ErrorCode } from '../../src/errors.js';
import { invocation, parseResult, rejectionOf, test } from './harness.js';

interface SlowResult {
  pid: number;
  start: number;
  end: number;
}

test('instanceConcurrency 2 runs two calls at once on one instance', async ({ harness }) => {
  const pool = harness.pool({ handler: 'index.slow', instanceConcurrency: 2, maxInstances: 1 });
  const [a, b] = await Promise.all([pool.invoke(invocation({ payload: '200' })), pool.invoke(invocation({ payload: '200' }))]);
  const ra = parseResult<SlowResult>(a);
  const rb = parseResult<SlowResult>(b);
  expect(ra.pid).toBe(rb.pid);
  // They overlapped: each started before the other ended.
  expect(ra.start).toBeLessThan(rb.end);
  expect(rb.start).toBeLessThan(ra.end);
  expect(harness.pids).toHaveLength(1);
});

test('maxInstances bounds the instances; extra calls wait their turn', async ({ harness }) => {
  const dir = harness.tmpDir();
  const release = join(dir, 'release');
  const pool = harness.pool({ handler: 'index.hold', maxInstances: 2, instanceConcurrency: 1 });
  const calls = [0, 1, 2, 3, 4].map(() => pool.invoke(invocation({ payload: JSON.stringify({ file: release }) })));
  await expect.poll(() => pool.stats()).toMatchObject({ running: 2, queued: 3, instances: 2 });
  writeFileSync(release, '');
  const pids = new Set((await Promise.all(calls)).map((result) => result.payload.toString()));
  expect(pids.size).toBe(2);
  expect(harness.pids).toHaveLength(2);
  expect(pool.stats()).toMatchObject({ running: 0, queued: 0, instances: 2, completed: 5, failed: 0 });
});

test('a full queue answers ResourceThrottled at once', async ({ harness }) => {
  const dir = harness.tmpDir();
  const release = join(dir, 'release');
  const pool = harness.pool({ handler: 'index.hold', maxInstances: 1, instanceConcurrency: 1, maxQueueLength: 2 });
  const payload = JSON.stringify({ file: release });
  const held = [pool.invoke(invocation({ payload })), pool.invoke(invocation({ payload })), pool.invoke(invocation({ payload }))];
  expect(pool.stats()).toMatchObject({ running: 1, queued: 2 });
  const inv = invocation({ payload });
  const err = await rejectionOf(pool.invoke(inv));
  expect(err.code).toBe(ErrorCode.ResourceThrottled);
  expect(err['requestId']).toBe(inv.requestId);
  // Answered while the others are still held.
  expect(pool.stats()).toMatchObject({ running: 1, queued: 2, throttled: 1 });
  writeFileSync(release, '');
  await Promise.all(held);
  expect(pool.stats()).toMatchObject({ completed: 3, throttled: 1 });
});

test('maxQueueLength 0: a call runs when a slot is free, else is refused', async ({ harness }) => {
  const dir = harness.tmpDir();
  const release = join(dir, 'release');
  const pool = harness.pool({ handler: 'index.hold', maxInstances: 1, maxQueueLength: 0 });
  const payload = JSON.stringify({ file: release });
  const first = pool.invoke(invocation({ payload }));
  expect((await rejectionOf(pool.invoke(invocation({ payload })))).code).toBe(ErrorCode.ResourceThrottled);
  writeFileSync(release, '');
  await first;
  await pool.invoke(invocation({ payload }));
  expect(pool.stats()).toMatchObject({ completed: 2, throttled: 1 });
});

test('a deadline already passed → DeadlineExceeded, and the handler never runs', async ({ harness }) => {
  const dir = harness.tmpDir();
  const file = join(dir, 'ran');
  const pool = harness.pool({ handler: 'index.touch' });
  const err = await rejectionOf(pool.invoke(invocation({ payload: JSON.stringify({ file }), deadline: Date.now() - 1 })));
  expect(err.code).toBe(ErrorCode.DeadlineExceeded);
  expect(harness.pids).toHaveLength(0);
  expect(existsSync(file)).toBe(false);
});

test('a deadline that passes while queued → DeadlineExceeded when its turn comes; not run', async ({ harness }) => {
  const dir = harness.tmpDir();
  const release = join(dir, 'release');
  const ran = join(dir, 'ran');
  let clock = Date.now();
  const pool = harness.pool({ handler: 'index.hold', maxInstances: 1 }, { now: () => clock });
  const holding = pool.invoke(invocation({ payload: JSON.stringify({ file: release }) }));
  const queued = rejectionOf(
    pool.invoke(invocation({ payload: JSON.stringify({ file: release, touch: ran }), deadline: clock + 1_000 })),
  );
  expect(pool.stats()).toMatchObject({ running: 1, queued: 1 });
  clock += 2_000; // the queued call's deadline passes while it waits
  writeFileSync(release, '');
  await holding;
  const err = await queued;
  expect(err.code).toBe(ErrorCode.DeadlineExceeded);
  expect(existsSync(ran)).toBe(false);
});

test('close(): refuses new calls, fails what is still running, leaves no process', async ({ harness }) => {
  const dir = harness.tmpDir();
  const release = join(dir, 'never');
  const pool = harness.pool({ handler: 'index.hold', maxInstances: 1 });
  const payload = JSON.stringify({ file: release });
  const running = rejectionOf(pool.invoke(invocation({ payload })));
  const queued = rejectionOf(pool.invoke(invocation({ payload })));
  await expect.poll(() => pool.stats().running).toBe(1);
  await expect.poll(() => harness.pids.length).toBe(1);
  const closing = pool.close({ graceMs: 50 });
  const refused = await rejectionOf(pool.invoke(invocation({ payload })));
  expect(refused.code).toBe(ErrorCode.ServiceUnavailable);
  await closing;
  expect((await running).code).toBe(ErrorCode.ServiceUnavailable);
  expect((await queued).code).toBe(ErrorCode.ServiceUnavailable);
  expect(pool.stats()).toMatchObject({ instances: 0, running: 0, queued: 0 });
  harness.assertNoProcessesLeft();
});

test('instance stop() is idempotent and fails in-flight calls with ServiceUnavailable', async ({ harness }) => {
  const dir = harness.tmpDir();
  const instance = await harness.runtime().startInstance(harness.config({ handler: 'index.hold' }));
  const call = rejectionOf(instance.invoke(invocation({ payload: JSON.stringify({ file: join(dir, 'never') }) })));
  await Promise.all([instance.stop(), instance.stop()]);
  expect((await call).code).toBe(ErrorCode.ServiceUnavailable);
  expect((await rejectionOf(instance.invoke(invocation()))).code).toBe(ErrorCode.ServiceUnavailable);
  expect(instance.usable).toBe(false);
  harness.assertNoProcessesLeft();
});
