/**
 * Node.js preStop hooks (instanceLifecycleConfig.preStop): run once when an instance is stopped,
 * in its own process or in the gateway (isolation: none), bounded by their timeout; their
 * outcome goes to the function's log. Real processes, real files.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect } from 'vitest';
import type { FunctionPool } from '../../gateway/runtime/function-pool.js';
import { invocation, test, type Harness } from './harness.js';

const lines = (file: string): string[] => readFileSync(file, 'utf8').trim().split('\n');

/** A pool of the init fixture whose preStop hook records runs in STATE_DIR = `state`. */
function preStopPool(harness: Harness, state: string, hook: string, timeoutMs: number): FunctionPool {
  return harness.pool({
    dir: 'init',
    handler: 'index.handler',
    environmentVariables: { STATE_DIR: state },
    preStop: { handler: hook, timeoutMs },
  });
}

describe('preStop (Node.js)', () => {
  test('runs once in the instance process before it stops; its log line says so', async ({ harness }) => {
    const state = harness.tmpDir();
    const pool = preStopPool(harness, state, 'index.preStop', 3000);
    const pid = (await pool.invoke(invocation())).payload.toString();
    await pool.close({ graceMs: 0 });
    expect(lines(join(state, 'prestop'))).toEqual([pid]);
    expect(harness.logs.map((line) => line.message)).toEqual(expect.arrayContaining(['stopping fn', 'pre-stop returned']));
  });

  test('a hook that never returns holds the stop for its timeout only', async ({ harness }) => {
    const state = harness.tmpDir();
    const pool = preStopPool(harness, state, 'index.stuckPreStop', 300);
    await pool.invoke(invocation());
    await pool.close({ graceMs: 0 });
    expect(lines(join(state, 'prestop'))).toHaveLength(1);
    expect(harness.logs.map((line) => line.message)).toContain('pre-stop did not return within 300 ms');
    // The fixture's teardown checks that the process and its group are gone.
  });

  test('isolation: none runs it in the gateway process', async ({ harness }) => {
    const state = harness.tmpDir();
    process.env['STATE_DIR'] = state;
    try {
      const pool = harness.pool({ dir: 'init', handler: 'index.handler', isolation: 'none', preStop: { handler: 'index.preStop', timeoutMs: 3000 } });
      await pool.invoke(invocation());
      await pool.close({ graceMs: 0 });
      expect(lines(join(state, 'prestop'))).toEqual([String(process.pid)]);
      expect(harness.logs.map((line) => line.message)).toEqual(expect.arrayContaining(['stopping fn', 'pre-stop returned']));
    } finally {
      delete process.env['STATE_DIR'];
    }
  });
});
