/**
 * Provisioned instances (minInstances) in the pool: started by provision() before any call,
 * kept through idle reaping, replaced after a kill -9, retried with back-off when they cannot
 * start, and gone after retire() and close().
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { ErrorCode, type EdgeFCError } from '../../src/errors.js';
import { TemplateError, type TemplateProblem } from '../../gateway/registry/template-error.js';
import type { FunctionSpec, Template } from '../../gateway/registry/types.js';
import { checkProvisionedMemory, defaultMemoryBudgetMB, MemoryBudget } from '../../gateway/runtime/memory-budget.js';
import { functionSpec, identity, invocation, rejectionOf, service, test } from './harness.js';

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

test('memory budget: an on-demand instance that does not fit waits for the function\'s own, or is ResourceThrottled with none', async ({ harness }) => {
  const budget = new MemoryBudget(512);
  const release = join(harness.tmpDir(), 'release');
  const payload = JSON.stringify({ file: release });
  // 2 provisioned × 128 MB are held for `warm` from the start, called or not.
  const warm = harness.pool({ name: 'warm', handler: 'index.hold', minInstances: 2, maxInstances: 3, memorySizeMB: 128 }, { budget });
  expect(budget.usedMB).toBe(256);
  const big = harness.pool({ name: 'big', handler: 'index.hold', maxInstances: 2, memorySizeMB: 256 }, { budget });
  const first = big.invoke(invocation({ payload }));
  await expect.poll(() => big.stats()).toMatchObject({ instances: 1, running: 1 });
  expect(budget.usedMB).toBe(512);
  // A second `big` instance would need 256 MB more: the call waits for the first instance.
  const second = big.invoke(invocation({ payload }));
  // Provisioned instances always start: their room was held from the start.
  warm.provision();
  await expect.poll(() => warm.stats()).toMatchObject({ instances: 2, idle: 2 });
  writeFileSync(release, '');
  await Promise.all([first, second]);
  expect(big.stats()).toMatchObject({ instances: 1, completed: 2, throttled: 0 });
  expect(harness.pids).toHaveLength(3);
  // `other` has no instance and no room: refused at once.
  const other = harness.pool({ name: 'other', handler: 'index.pid', maxInstances: 1, memorySizeMB: 64 }, { budget });
  // Refused synchronously, before it is accepted (submit throws; invoke rejects).
  expect(() => other.submit(invocation())).toThrow(/memory budget/);
  const error = await rejectionOf(other.invoke(invocation()));
  expect(error.code).toBe(ErrorCode.ResourceThrottled);
  expect(error.message).toContain('memory budget (512 of 512 MB in use)');
  expect(other.stats()).toMatchObject({ instances: 0, throttled: 2, failed: 0 });
  await big.close();
  expect(budget.usedMB).toBe(256);
});

test('checkProvisionedMemory: provisioned instances over the budget are refused, every provisioning function named', () => {
  const fn = (name: string, minInstances: number, memorySizeMB: number): FunctionSpec => functionSpec({ name, minInstances, memorySizeMB });
  const template: Template = { path: '/t.yml', identity, services: [service], functions: [fn('a', 2, 512), fn('b', 1, 256), fn('c', 0, 2048)] };
  expect(() => checkProvisionedMemory(template, 4096)).not.toThrow();
  let problems: readonly TemplateProblem[] = [];
  try {
    checkProvisionedMemory(template, 1024);
  } catch (error) {
    expect(error).toBeInstanceOf(TemplateError);
    problems = (error as TemplateError).problems;
  }
  expect(problems.map((p) => p.field)).toEqual([
    'services.svc.functions.c.memorySize',
    'services.svc.functions.a.minInstances',
    'services.svc.functions.b.minInstances',
  ]);
  expect(problems[1]?.reason).toContain('need 1280 MB in all, over the gateway\'s memory budget of 1024 MB');
  expect(defaultMemoryBudgetMB(1024 * 2 ** 20)).toBe(768);
});
