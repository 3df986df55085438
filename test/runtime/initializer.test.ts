/**
 * FC initializers: once per instance before its first call; a failure or timeout is reported
 * to the call that triggered it, and the next call tries again.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { ErrorCode } from '../../src/errors.js';
import { invocation, rejectionOf, test } from './harness.js';

function runs(dir: string, name: string): string[] {
  const file = join(dir, name);
  return existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n') : [];
}

test('runs once per instance, before the first call', async ({ harness }) => {
  const state = harness.tmpDir();
  const pool = harness.pool({
    dir: 'init',
    handler: 'index.handler',
    initializer: 'index.once',
    environmentVariables: { STATE_DIR: state },
    maxInstances: 1,
  });
  const pids = new Set<string>();
  for (let i = 0; i < 3; i++) pids.add((await pool.invoke(invocation())).payload.toString());
  expect(runs(state, 'once')).toEqual([...pids]);

  // Concurrent first calls on one instance share one run.
  const shared = harness.pool({
    dir: 'init',
    handler: 'index.handler',
    initializer: 'index.once',
    environmentVariables: { STATE_DIR: state },
    maxInstances: 1,
    instanceConcurrency: 3,
  });
  const sharedPids = await Promise.all([0, 1, 2].map(() => shared.invoke(invocation())));
  const sharedPid = sharedPids[0]!.payload.toString();
  expect(runs(state, 'once').filter((pid) => pid === sharedPid)).toHaveLength(1);
  pids.add(sharedPid);

  // Two instances: each runs it once.
  const two = harness.pool({
    dir: 'init',
    handler: 'index.handler',
    initializer: 'index.once',
    environmentVariables: { STATE_DIR: state },
    maxInstances: 2,
    instanceConcurrency: 1,
  });
  const results = await Promise.all([0, 1, 2, 3].map(() => two.invoke(invocation())));
  const seen = new Set(results.map((result) => result.payload.toString()));
  expect(runs(state, 'once').sort()).toEqual([...pids, ...seen].sort());
});

test('a promise-returning initializer; its console output has no request ID', async ({ harness }) => {
  const state = harness.tmpDir();
  const pool = harness.pool({
    dir: 'init',
    handler: 'index.handler',
    initializer: 'index.asyncInit',
    environmentVariables: { STATE_DIR: state },
  });
  await pool.invoke(invocation());
  expect(runs(state, 'async')).toHaveLength(1);
  expect(harness.logs).toContainEqual(expect.objectContaining({ requestId: '', message: 'initializing fn' }));
});

test('a failing initializer → InitializationError; the next call retries it on the same instance', async ({
  harness,
}) => {
  const state = harness.tmpDir();
  const pool = harness.pool({
    dir: 'init',
    handler: 'index.handler',
    initializer: 'index.flaky',
    environmentVariables: { STATE_DIR: state },
  });
  const inv = invocation();
  const err = await rejectionOf(pool.invoke(inv));
  expect(err.code).toBe(ErrorCode.InitializationError);
  expect(err['errorMessage']).toBe('not ready yet');
  expect(err['errorType']).toBe('Error');
  expect(err['requestId']).toBe(inv.requestId);
  const pid = (await pool.invoke(invocation())).payload.toString();
  expect(runs(state, 'flaky')).toEqual([pid, pid]);
  // Initialized now: no third run.
  await pool.invoke(invocation());
  expect(runs(state, 'flaky')).toHaveLength(2);
});

test('a stuck initializer → InitializationTimeout, the instance is killed, the next call succeeds', async ({
  harness,
}) => {
  const state = harness.tmpDir();
  const pool = harness.pool({
    dir: 'init',
    handler: 'index.handler',
    initializer: 'index.hang',
    initializationTimeoutMs: 300,
    environmentVariables: { STATE_DIR: state },
  });
  const started = Date.now();
  const err = await rejectionOf(pool.invoke(invocation()));
  expect(err.code).toBe(ErrorCode.InitializationTimeout);
  expect(Date.now() - started).toBeLessThan(2_000);
  const pid = (await pool.invoke(invocation())).payload.toString();
  const [first, second] = runs(state, 'hang');
  expect(second).toBe(pid);
  expect(first).not.toBe(pid);
});
