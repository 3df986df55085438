/**
 * Spare processes (gateway/runtime/node/spare-processes.ts): a pre-forked runner per memory size
 * that an instance start takes instead of forking. A function on a spare must not be able to
 * tell: same environment (nothing of the gateway's), cwd, exec flags, SDK resolution. Spares
 * are bounded (one per memory size prepared, none without Node.js functions) and none outlives
 * close(): the harness checks every pid, spares included, after each test.
 */
import { join } from 'node:path';
import { describe, expect } from 'vitest';
import { ErrorCode } from '../../src/errors.js';
import { FunctionPool } from '../../gateway/runtime/function-pool.js';
import { RuntimeRegistry } from '../../gateway/runtime/runtime-registry.js';
import { packageRoot } from '../../gateway/runtime/node/child-entry.js';
import { startupEnvMatches } from '../../gateway/runtime/node/child-env.js';
import type { NodeRuntime } from '../../gateway/runtime/node/node-runtime.js';
import { processExists } from '../../gateway/runtime/process/process-tree.js';
import { FUNCTIONS_DIR, functionSpec, invocation, parseResult, rejectionOf, test } from './harness.js';
import type { Harness } from './harness.js';

interface ProcessInfo {
  pid: number;
  cwd: string;
  env: Record<string, string>;
  argv: string[];
  execArgv: string[];
  globalPaths: string[];
  heapLimitMB: number;
  sdk: { resolved?: string; fcClient?: string; error?: string };
}

const processInfo = { dir: 'process-info', handler: 'index.handler' } as const;

/** A runtime with a spare for `memorySizeMB`, ready (prepared) before it returns. */
async function preparedRuntime(harness: Harness, memorySizesMB: number[] = [128]): Promise<NodeRuntime> {
  const runtime = harness.runtime({ generateId: () => 'inst-1' });
  runtime.prepare(memorySizesMB.map((memorySizeMB, index) => functionSpec({ name: `f${index}`, memorySizeMB })));
  await expect.poll(() => runtime.spares.prepared).toBe(memorySizesMB.length);
  return runtime;
}

describe('spare processes', () => {
  test('none without prepare(), none for no Node.js function, one per memory size', async ({ harness }) => {
    const runtime = harness.runtime();
    expect(runtime.spares.count).toBe(0);
    runtime.prepare([functionSpec({ runtime: 'custom' })]);
    expect(runtime.spares.count).toBe(0);
    runtime.prepare([
      functionSpec({ name: 'a', memorySizeMB: 128 }),
      functionSpec({ name: 'b', memorySizeMB: 128, runtime: 'nodejs18' }),
      functionSpec({ name: 'c', memorySizeMB: 256 }),
    ]);
    expect(runtime.spares.count).toBe(2);
    await expect.poll(() => runtime.spares.prepared).toBe(2);
    const [first, second] = runtime.spares.pids;

    // A redeploy without the 128 MB functions: its spare goes, the 256 MB one stays.
    runtime.prepare([functionSpec({ name: 'c', memorySizeMB: 256 })]);
    expect(runtime.spares.count).toBe(1);
    const kept = runtime.spares.pids[0];
    expect([first, second]).toContain(kept);
    const dropped = kept === first ? second! : first!;
    await expect.poll(() => processExists(dropped)).toBe(false);

    runtime.prepare([]);
    expect(runtime.spares.count).toBe(0);
    await expect.poll(() => processExists(kept!)).toBe(false);
  });

  test('at most two spares: for the memory sizes the most functions use', async ({ harness }) => {
    const runtime = harness.runtime();
    runtime.prepare([
      functionSpec({ name: 'a', memorySizeMB: 512 }),
      functionSpec({ name: 'b', memorySizeMB: 128 }),
      functionSpec({ name: 'c', memorySizeMB: 128 }),
      functionSpec({ name: 'd', memorySizeMB: 256 }),
      functionSpec({ name: 'e', memorySizeMB: 256 }),
      functionSpec({ name: 'f', memorySizeMB: 1024 }),
    ]);
    expect(runtime.spares.count).toBe(2);
    await expect.poll(() => runtime.spares.prepared).toBe(2);
    runtime.prepare([]);
    expect(runtime.spares.count).toBe(0);
  });

  test('the first start takes the spare, which is replaced; the function cannot tell', async ({ harness }) => {
    const runtime = await preparedRuntime(harness);
    const [sparePid] = runtime.spares.pids;
    const instance = await runtime.startInstance(harness.config(processInfo));
    const onSpare = parseResult<ProcessInfo>(await instance.invoke(invocation()));
    expect(onSpare.pid).toBe(sparePid);
    // Replaced once the instance has started (after spareReplenishDelayMs).
    await expect.poll(() => runtime.spares.prepared).toBe(1);
    expect(runtime.spares.pids[0]).not.toBe(sparePid);

    // The same function, forked for it the usual way.
    process.env['EDGEFC_TEST_SECRET'] = 'must not leak';
    let forked: ProcessInfo;
    try {
      const plain = harness.runtime({ spares: false, generateId: () => 'inst-1' });
      forked = parseResult<ProcessInfo>(await (await plain.startInstance(harness.config(processInfo))).invoke(invocation()));
    } finally {
      delete process.env['EDGEFC_TEST_SECRET'];
    }
    expect(forked.pid).not.toBe(sparePid);
    const { pid: _a, ...spareView } = onSpare;
    const { pid: _b, ...forkedView } = forked;
    expect(spareView).toEqual(forkedView);
    expect(onSpare.env['EDGEFC_TEST_SECRET']).toBeUndefined();
    expect(onSpare.cwd).toBe(join(FUNCTIONS_DIR, 'process-info'));
    expect(onSpare.env['NODE_PATH']).toBe(join(packageRoot, 'runtime-modules'));
    expect(onSpare.globalPaths).toContain(join(packageRoot, 'runtime-modules'));
    expect(onSpare.sdk).toEqual({
      resolved: join(packageRoot, 'runtime-modules', 'linkedge-core-sdk', 'index.cjs'),
      fcClient: 'function',
    });
    expect(onSpare.execArgv).toContain('--max-old-space-size=128');
  });

  test('import of linkedge-core-sdk from an ES module works on a spare', async ({ harness }) => {
    const runtime = await preparedRuntime(harness);
    const [sparePid] = runtime.spares.pids;
    const instance = await runtime.startInstance(harness.config({ dir: 'esm', handler: 'index.sdk' }));
    expect((instance as unknown as { pid: number }).pid).toBe(sparePid);
    const { resolved, fcClient } = parseResult<{ resolved: string; fcClient: string }>(await instance.invoke(invocation()));
    expect(resolved).toBe(`file://${join(packageRoot, 'runtime-modules', 'linkedge-core-sdk', 'index.mjs')}`);
    expect(fcClient).toBe('function');
  });

  test('a function NODE_PATH comes first, also on a spare', async ({ harness }) => {
    const runtime = await preparedRuntime(harness);
    const [sparePid] = runtime.spares.pids;
    const own = harness.tmpDir();
    const instance = await runtime.startInstance(harness.config({ ...processInfo, environmentVariables: { NODE_PATH: own } }));
    const info = parseResult<ProcessInfo>(await instance.invoke(invocation()));
    expect(info.pid).toBe(sparePid);
    expect(info.globalPaths.indexOf(own)).toBeGreaterThanOrEqual(0);
    expect(info.globalPaths.indexOf(own)).toBeLessThan(info.globalPaths.indexOf(join(packageRoot, 'runtime-modules')));
  });

  test('variables read at startup, another memory size, a missing code dir: a fresh fork', async ({ harness }) => {
    const runtime = await preparedRuntime(harness);
    const [sparePid] = runtime.spares.pids;

    const withOptions = await runtime.startInstance(
      harness.config({ ...processInfo, environmentVariables: { NODE_OPTIONS: '--stack-trace-limit=7' } }),
    );
    const info = parseResult<ProcessInfo>(await withOptions.invoke(invocation()));
    expect(info.pid).not.toBe(sparePid);
    expect(info.env['NODE_OPTIONS']).toBe('--stack-trace-limit=7');

    const bigger = parseResult<ProcessInfo>(
      await (await runtime.startInstance(harness.config({ ...processInfo, memorySizeMB: 256 }))).invoke(invocation()),
    );
    expect(bigger.pid).not.toBe(sparePid);
    expect(bigger.execArgv).toContain('--max-old-space-size=256');

    const missing = await rejectionOf(runtime.startInstance(harness.config({ dir: 'does-not-exist' })));
    expect(missing.code).toBe(ErrorCode.ServiceUnavailable);
    // The spare is still there, untouched.
    expect(runtime.spares.pids).toEqual([sparePid]);
  });

  test('a handler that fails to load on a spare fails the start as on a fork, and the spare is replaced', async ({
    harness,
  }) => {
    const runtime = await preparedRuntime(harness);
    const [sparePid] = runtime.spares.pids;
    const err = await rejectionOf(runtime.startInstance(harness.config({ dir: 'broken', handler: 'index.handler' })));
    expect(err.code).toBe(ErrorCode.UnhandledInvocationError);
    expect(err['errorType']).toBe('HandlerNotFound');
    await expect.poll(() => processExists(sparePid!)).toBe(false);
    await expect.poll(() => runtime.spares.prepared).toBe(1);
  });

  test('a spare that dies while idle is replaced', async ({ harness }) => {
    const runtime = await preparedRuntime(harness);
    const [sparePid] = runtime.spares.pids;
    process.kill(sparePid!, 'SIGKILL');
    await expect.poll(() => runtime.spares.prepared === 1 && runtime.spares.pids[0] !== sparePid).toBe(true);
  });

  test('a pool takes the spare; close() kills spares, also a replacement still starting', async ({ harness }) => {
    const runtime = harness.runtime({ spareReplenishDelayMs: 0 });
    runtime.prepare([functionSpec()]);
    const [sparePid] = runtime.spares.pids;
    // Not waited for: the start takes the spare while it boots; its load waits in the channel.
    const pool = new FunctionPool(runtime, harness.config());
    const result = await pool.invoke(invocation({ payload: 'spare' }));
    expect(result.payload.toString()).toBe('hello spare');
    expect(harness.pids.filter((pid) => pid === sparePid)).toHaveLength(2); // as a spare, then as the instance
    await expect.poll(() => runtime.spares.count).toBe(1);
    await pool.close({ graceMs: 0 });
    await runtime.close();
    expect(runtime.spares.count).toBe(0);
  });
});

describe('RuntimeRegistry.prepare', () => {
  test('hands each runtime its own functions: spares for the Node.js ones only, gone after close()', async () => {
    const pids: number[] = [];
    const registry = new RuntimeRegistry({ node: { onSpareStart: ({ pid }) => pids.push(pid) } });
    const node = registry.get('nodejs20') as NodeRuntime;
    try {
      registry.prepare([
        functionSpec({ name: 'a', runtime: 'nodejs18', memorySizeMB: 128 }),
        functionSpec({ name: 'b', runtime: 'custom', memorySizeMB: 512 }),
        functionSpec({ name: 'c', runtime: 'go1', memorySizeMB: 1024 }),
        functionSpec({ name: 'd', runtime: 'nodejs20', memorySizeMB: 256 }),
      ]);
      expect(node.spares.count).toBe(2);
      expect(pids).toHaveLength(2);
    } finally {
      await registry.close();
    }
    expect(node.spares.count).toBe(0);
    for (const pid of pids) expect(processExists(pid), `spare ${pid}`).toBe(false);
  });
});

describe('startupEnvMatches', () => {
  test('only variables read at startup must agree; NODE_PATH is re-read', () => {
    const spare = { PATH: '/bin', LANG: 'C.UTF-8' };
    expect(startupEnvMatches({ PATH: '/usr/bin', LANG: 'C.UTF-8', NODE_PATH: '/x', FOO: '1' }, spare)).toBe(true);
    expect(startupEnvMatches({ LANG: 'de_DE.UTF-8' }, spare)).toBe(false);
    expect(startupEnvMatches({ LANG: 'C.UTF-8', NODE_OPTIONS: '--x' }, spare)).toBe(false);
    expect(startupEnvMatches({ LANG: 'C.UTF-8', UV_THREADPOOL_SIZE: '8' }, spare)).toBe(false);
    expect(startupEnvMatches({ LANG: 'C.UTF-8', LC_ALL: 'C' }, spare)).toBe(false);
    expect(startupEnvMatches({ LANG: 'C.UTF-8', TZ: 'UTC' }, spare)).toBe(false);
    expect(startupEnvMatches({}, spare)).toBe(false);
  });
});
