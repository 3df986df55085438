/**
 * The runtime contract: every runtime (Node.js, custom web server, custom non-web, runtime
 * API) runs the same function (test/fixtures/runtimes) through the same cases. A case a
 * runtime cannot express (non-web mode has no initializer) is not registered for it; the
 * reasons are in targets.ts and docs/runtime-custom.md.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { describe, expect } from 'vitest';
import { ErrorCode } from '../../src/errors.js';
import { processAlive } from '../../gateway/runtime/process/process-tree.js';
import { invocation, parseResult, rejectionOf } from '../runtime/harness.js';
import { op, test } from './harness.js';
import { initializerOf, type ContractTarget } from './targets.js';

/** A FunctionTimeout may come at most this late (the brief: within timeout + 100 ms). */
const TIMEOUT_SLACK_MS = 100;
/** Timed-out calls measured per runtime for the precision check. */
const TIMEOUT_RUNS = 5;

/** Measured lateness of the timeout runs, per runtime, for the report in docs/runtime-custom.md. */
export const timeoutLateness: Record<string, number[]> = {};

export interface ContractOptions {
  /**
   * Assert how late timeouts come (the runtime's own precision). A rerun of the contract that
   * changes something else (contained.contract.test.ts: the user) checks outcomes only, so the
   * precision is asserted once per runtime, not twice on a loaded box. @default true
   */
  timing?: boolean;
}

export function defineContract(target: ContractTarget, options: ContractOptions = {}): void {
  const timing = options.timing ?? true;
  describe(`runtime contract: ${target.name}`, () => {
    test('a text result arrives as text', async ({ harness }) => {
      const result = await harness.pool(target).invoke(invocation({ payload: op('echo', { text: 'world' }) }));
      expect(result.payload.toString()).toBe('hello world');
      expect(result.binary).toBe(false);
    });

    test('bytes arrive unchanged', async ({ harness }) => {
      const result = await harness.pool(target).invoke(invocation({ payload: op('bytes') }));
      expect([...result.payload]).toEqual([0, 1, 2, 255]);
      expect(result.binary).toBe(target.can.binary);
    });

    if (target.can.handled) {
      test('an error the function reports is HandledInvocationError with FC fields', async ({ harness }) => {
        const err = await rejectionOf(harness.pool(target).invoke(invocation({ payload: op('handled') })));
        expect(err.code).toBe(ErrorCode.HandledInvocationError);
        expect(err['errorMessage']).toBe('bad input');
        expect(err['errorType']).toBe('TypeError');
      });
    }

    test('a crash is UnhandledInvocationError ProcessExited; the next call gets a working process', async ({ harness }) => {
      const pool = harness.pool(target);
      const err = await rejectionOf(pool.invoke(invocation({ payload: op('crash') })));
      expect(err.code).toBe(ErrorCode.UnhandledInvocationError);
      expect(err['errorType']).toBe('ProcessExited');
      expect(err.message).toContain('exit code 3');
      const next = await pool.invoke(invocation({ payload: op('pid') }));
      expect(Number(next.payload.toString())).toBe(harness.instancePids.at(-1));
    });

    if (target.can.initializer) {
      test('the initializer runs once per instance, before its first call', async ({ harness }) => {
        const pool = harness.pool(target, { initializer: initializerOf(target), maxInstances: 1 });
        const pids = new Set<string>();
        for (let i = 0; i < 3; i++) pids.add((await pool.invoke(invocation({ payload: op('pid') }))).payload.toString());
        expect(pids.size).toBe(1);
        expect(readFileSync(harness.file('init'), 'utf8').trim().split('\n')).toEqual([...pids]);
      });

      test('an initializer past initializationTimeout → InitializationTimeout, on time', async ({ harness }) => {
        const pool = harness.pool(target, {
          initializer: initializerOf(target),
          initializationTimeoutMs: 300,
          environmentVariables: { INIT_MODE: 'hang' },
        });
        const started = Date.now();
        const err = await rejectionOf(pool.invoke(invocation({ payload: op('pid') })));
        expect(err.code).toBe(ErrorCode.InitializationTimeout);
        // The initializer's 300 ms bound fired, not the 3 s function timeout: the instance's start
        // is included (~150 ms idle, 400-650 ms seen with the suite's own load on 2 cores).
        if (timing) expect(Date.now() - started).toBeLessThan(300 + 1500);
      });

      test('a failing initializer → InitializationError; the next call runs it again', async ({ harness }) => {
        const pool = harness.pool(target, {
          initializer: initializerOf(target),
          environmentVariables: { INIT_MODE: 'fail' },
          maxInstances: 1,
        });
        expect((await rejectionOf(pool.invoke(invocation({ payload: op('pid') })))).code).toBe(ErrorCode.InitializationError);
        expect((await rejectionOf(pool.invoke(invocation({ payload: op('pid') })))).code).toBe(ErrorCode.InitializationError);
        expect(readFileSync(harness.file('init'), 'utf8').trim().split('\n')).toHaveLength(2);
      });
    }

    test(`a call past its timeout → FunctionTimeout within timeout + ${TIMEOUT_SLACK_MS} ms (every run)`, async ({ harness }) => {
      const late: number[] = [];
      for (let run = 0; run < TIMEOUT_RUNS; run++) {
        const instance = await harness.instance(target, { timeoutMs: 200 });
        const started = Date.now();
        const err = await rejectionOf(instance.invoke(invocation({ payload: op('loop') })));
        late.push(Date.now() - started - 200);
        expect(err.code).toBe(ErrorCode.FunctionTimeout);
        await instance.stop();
      }
      if (!timing) return;
      timeoutLateness[target.name] = late;
      expect(Math.max(...late)).toBeLessThan(TIMEOUT_SLACK_MS);
    });

    test('the caller\'s deadline wins over a longer function timeout', async ({ harness }) => {
      const instance = await harness.instance(target, { timeoutMs: 10_000 });
      const started = Date.now();
      const err = await rejectionOf(instance.invoke(invocation({ payload: op('loop'), deadline: started + 250 })));
      expect(err.code).toBe(ErrorCode.FunctionTimeout);
      expect(err.message).toContain("caller's deadline");
      if (timing) expect(Date.now() - started).toBeLessThan(250 + TIMEOUT_SLACK_MS);
    });

    test('a call whose deadline has passed is refused and never runs', async ({ harness }) => {
      const pool = harness.pool(target);
      const touch = harness.file('ran');
      const late = invocation({ payload: op('hold', { file: touch, touch }), deadline: Date.now() - 1 });
      expect(() => pool.submit(late)).toThrow(expect.objectContaining({ code: ErrorCode.DeadlineExceeded }));
      const instance = await harness.instance(target);
      expect((await rejectionOf(instance.invoke(late))).code).toBe(ErrorCode.DeadlineExceeded);
      expect(existsSync(touch)).toBe(false);
    });

    test('at most maxInstances × instanceConcurrency calls run at once; the rest wait their turn', async ({ harness }) => {
      const pool = harness.pool(target, { maxInstances: 2, instanceConcurrency: 1 });
      const release = harness.file('release');
      const touches = [0, 1, 2].map((i) => harness.file(`started-${i}`));
      const calls = touches.map((touch) => pool.invoke(invocation({ payload: op('hold', { file: release, touch }) })));
      await expect.poll(() => touches.filter((t) => existsSync(t)).length).toBe(2);
      expect(pool.stats()).toMatchObject({ queued: 1, running: 2, instances: 2 });
      writeFileSync(release, '');
      const pids = (await Promise.all(calls)).map((r) => r.payload.toString());
      expect(touches.every((t) => existsSync(t))).toBe(true);
      if (target.can.warm) expect(new Set(pids).size).toBe(2);
    });

    test('the function sees the request ID, function and service info and the invokerContext', async ({ harness }) => {
      const call = invocation({ payload: op('context'), invokerContext: { trace: 't-1', n: 2 } });
      const seen = parseResult(await harness.pool(target, { memorySizeMB: 256, timeoutMs: 7_000 }).invoke(call));
      expect(seen).toMatchObject({
        requestId: call.requestId,
        functionName: 'fn',
        handler: target.spec.handler,
        memory: '256',
        timeout: '7',
        serviceName: 'svc',
        qualifier: 'LATEST',
        region: 'cn-test-1',
        accountId: '1234567890',
        accessKeyId: 'AK',
        invokerContext: { trace: 't-1', n: 2 },
      });
    });

    test('qualifier headers: the function sees the qualifier it was called by and the version it runs (context.service, x-fc-qualifier, x-fc-version-id; docs/protocol.md §3.2a)', async ({ harness }) => {
      const latest = parseResult(await harness.pool(target, {}, { versionId: '' }).invoke(invocation({ payload: op('context') })));
      expect(latest).toMatchObject({ qualifier: 'LATEST' });
      expect(latest['versionId'] ?? '').toBe('');
      const version = harness.pool(target, {}, { versionId: '3' });
      expect(parseResult(await version.invoke(invocation({ payload: op('context'), qualifier: 'prod' })))).toMatchObject({ qualifier: 'prod', versionId: '3' });
      expect(parseResult(await version.invoke(invocation({ payload: op('context'), qualifier: '3' })))).toMatchObject({ qualifier: '3', versionId: '3' });
    });

    test('the function receives the call\'s W3C trace context, and none when the call has none (docs/protocol.md §3.7.5)', async ({ harness }) => {
      const pool = harness.pool(target);
      const trace = { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', tracestate: 'edgefc=t1,other=x' };
      expect(parseResult(await pool.invoke(invocation({ payload: op('context'), trace })))).toMatchObject(trace);
      expect(parseResult(await pool.invoke(invocation({ payload: op('context') })))).toMatchObject({ traceparent: '', tracestate: '' });
    });

    test('shutdown: a call in flight fails ServiceUnavailable, and no process is left', async ({ harness }) => {
      const pool = harness.pool(target);
      const touch = harness.file('started');
      const call = rejectionOf(pool.invoke(invocation({ payload: op('hold', { file: harness.file('never'), touch }) })));
      await expect.poll(() => existsSync(touch)).toBe(true);
      await pool.close({ graceMs: 0 });
      expect((await call).code).toBe(ErrorCode.ServiceUnavailable);
      // The fixture's teardown checks that every process and process group is gone.
    });

    test("a child the function leaves running dies with it (execSync('sleep 60') timed out, a spawned sleep)", async ({ harness }) => {
      const pool = harness.pool(target, { timeoutMs: 300 });
      expect((await rejectionOf(pool.invoke(invocation({ payload: op('sleep') })))).code).toBe(ErrorCode.FunctionTimeout);
      const orphan = Number((await pool.invoke(invocation({ payload: op('orphan') }))).payload.toString());
      expect(orphan).toBeGreaterThan(0);
      await pool.close({ graceMs: 0 });
      await expect.poll(() => processAlive(orphan)).toBe(false);
    });

    test('memory above memorySize (1 GiB of Buffers, memorySize 128) → MemoryLimitExceeded', async ({ harness }) => {
      const err = await rejectionOf(harness.pool(target, { memorySizeMB: 128, timeoutMs: 10_000 }).invoke(invocation({ payload: op('hog') })));
      expect(err.code).toBe(ErrorCode.UnhandledInvocationError);
      expect(err['errorType']).toBe('MemoryLimitExceeded');
    });
  });
}
