/**
 * Provisioned instances (minInstances) in the pool: started by provision() before any call,
 * kept through idle reaping, replaced after a kill -9, retried with back-off when they cannot
 * start, and gone after retire() and close().
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import type { EdgeFCError } from '../../src/errors.js';
import { invocation, test } from './harness.js';

test('provision() starts minInstances before any call; the first call is not a cold start', async ({ harness }) => {
  const pool = harness.pool({ handler: 'index.pid', minInstances: 2, maxInstances: 3 });
  expect(pool.stats()).toMatchObject({ provisioned: 2, instances: 0 });
  pool.provision();
  pool.provision(); // idempotent
  await expect.poll(() => pool.stats()).toMatchObject({ instances: 2, idle: 2, provisioned: 2 });
  expect(harness.pids).toHaveLength(2);
  const call = invocation();
  const result = await pool.invoke(call);
  expect(call.coldStart).toBeUndefined();
  expect(harness.pids).toContain(Number(result.payload.toString()));
  expect(harness.pids).toHaveLength(2);
});

test('idle reaping stops only the instances above minInstances', async ({ harness }) => {
  const release = join(harness.tmpDir(), 'release');
  const pool = harness.pool({ handler: 'index.hold', minInstances: 1, maxInstances: 3, idleTimeoutMs: 200 });
  pool.provision();
  await expect.poll(() => pool.stats()).toMatchObject({ instances: 1, idle: 1 });
  const payload = JSON.stringify({ file: release });
  const held = [0, 1, 2].map(() => pool.invoke(invocation({ payload })));
  await expect.poll(() => pool.stats()).toMatchObject({ instances: 3, running: 3 });
  writeFileSync(release, '');
  await Promise.all(held);
  // Reaped down to the minimum, never below: the next call finds a warm instance.
  await expect.poll(() => pool.stats(), { timeout: 5_000 }).toMatchObject({ instances: 1, idle: 1 });
  const call = invocation({ payload });
  await pool.invoke(call);
  expect(call.coldStart).toBeUndefined();
  expect(harness.pids).toHaveLength(3);
});

test('a provisioned instance killed with SIGKILL is replaced', async ({ harness }) => {
  const pool = harness.pool({ handler: 'index.pid', minInstances: 1, maxInstances: 2 });
  pool.provision();
  await expect.poll(() => pool.stats()).toMatchObject({ instances: 1, idle: 1 });
  const [first] = harness.pids;
  process.kill(first!, 'SIGKILL');
  await expect.poll(() => harness.pids.length, { timeout: 5_000 }).toBe(2);
  await expect.poll(() => pool.stats()).toMatchObject({ instances: 1, idle: 1 });
  const call = invocation();
  const result = await pool.invoke(call);
  expect(call.coldStart).toBeUndefined();
  expect(Number(result.payload.toString())).toBe(harness.pids[1]);
});

test('a provisioned instance that cannot start is reported and retried with back-off, never thrown', async ({ harness }) => {
  const errors: { code: string; retryInMs: number }[] = [];
  const pool = harness.pool(
    { dir: 'broken', handler: 'syntax.handler', minInstances: 1, maxInstances: 1 },
    { onProvisionError: (error: EdgeFCError, retryInMs) => errors.push({ code: error.code, retryInMs }) },
  );
  pool.provision();
  await expect.poll(() => errors.length, { timeout: 10_000 }).toBeGreaterThanOrEqual(2);
  expect(errors.slice(0, 2).map((e) => e.retryInMs)).toEqual([1_000, 2_000]);
  expect(pool.stats()).toMatchObject({ instances: 0, provisioned: 1 });
});

test('retire() stops the provisioned instances and starts no more', async ({ harness }) => {
  const pool = harness.pool({ handler: 'index.pid', minInstances: 2, maxInstances: 2 });
  pool.provision();
  await expect.poll(() => pool.stats()).toMatchObject({ instances: 2 });
  await pool.retire();
  expect(pool.stats()).toMatchObject({ instances: 0 });
  pool.provision();
  expect(pool.stats()).toMatchObject({ instances: 0 });
  expect(harness.pids).toHaveLength(2);
});
