/**
 * Test harness for the runtime suites: real processes, real files. `test.extend` owns teardown:
 * every pool and runtime a test made is closed, then we check that no process it started, nor
 * anything in their process groups, is left.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { nanoid } from 'nanoid';
import { expect, test as base } from 'vitest';
import type { FunctionSpec, GatewayIdentity, ServiceSpec } from '../../gateway/registry/types.js';
import type { FunctionLogLine } from '../../gateway/logging/function-log.js';
import type { InstanceConfig, Invocation, InvocationResult } from '../../gateway/runtime/types.js';
import { FunctionPool } from '../../gateway/runtime/function-pool.js';
import type { FunctionPoolOptions } from '../../gateway/runtime/function-pool.js';
import { NodeRuntime } from '../../gateway/runtime/node/node-runtime.js';
import type { NodeRuntimeOptions } from '../../gateway/runtime/node/node-runtime.js';
import { processExists, processGroupMembers } from '../../gateway/runtime/process/process-tree.js';

export const FUNCTIONS_DIR = resolve(fileURLToPath(import.meta.url), '../../fixtures/functions');

export const service: ServiceSpec = {
  name: 'svc',
  description: 'test service',
  logProject: 'proj',
  logStore: 'store',
  qualifier: 'LATEST',
  versionId: '7',
};

export const identity: GatewayIdentity = {
  region: 'cn-test-1',
  accountId: '1234567890',
  credentials: { accessKeyId: 'AK', accessKeySecret: 'SK', securityToken: 'TOKEN' },
};

export function functionSpec(overrides: Partial<FunctionSpec> & { dir?: string } = {}): FunctionSpec {
  const { dir = 'basic', ...rest } = overrides;
  return {
    serviceName: service.name,
    name: 'fn',
    description: '',
    runtime: 'nodejs20',
    handler: 'index.text',
    codeDir: join(FUNCTIONS_DIR, dir),
    memorySizeMB: 128,
    timeoutMs: 5_000,
    initializer: undefined,
    initializationTimeoutMs: 3_000,
    instanceConcurrency: 1,
    maxInstances: 1,
    maxQueueLength: 10,
    environmentVariables: {},
    ...rest,
  };
}

export function invocation(overrides: Partial<Invocation> & { payload?: string | Buffer } = {}): Invocation {
  const { payload = '', ...rest } = overrides;
  return {
    requestId: nanoid(),
    invocationType: 'Sync',
    event: Buffer.isBuffer(payload) ? payload : Buffer.from(payload),
    invokerContext: undefined,
    qualifier: '',
    deadline: Date.now() + 10_000,
    ...rest,
  };
}

export class Harness {
  readonly logs: FunctionLogLine[] = [];
  /** Every process any runtime of this test started. */
  readonly pids: number[] = [];
  readonly #runtimes: NodeRuntime[] = [];
  readonly #pools: FunctionPool[] = [];
  readonly #tmpDirs: string[] = [];

  runtime(options: NodeRuntimeOptions = {}): NodeRuntime {
    const runtime = new NodeRuntime({
      ...options,
      onInstanceStart: (info) => {
        this.pids.push(info.pid);
        options.onInstanceStart?.(info);
      },
      // Spares (only forked after prepare()) are processes of the runtime too: none may be left.
      onSpareStart: (info) => {
        this.pids.push(info.pid);
        options.onSpareStart?.(info);
      },
    });
    this.#runtimes.push(runtime);
    return runtime;
  }

  config(overrides: Partial<FunctionSpec> & { dir?: string } = {}): InstanceConfig {
    return {
      service,
      fn: functionSpec(overrides),
      identity,
      brokerUrl: 'mqtt://127.0.0.1:1883',
      onLog: (line) => this.logs.push(line),
    };
  }

  pool(
    overrides: Partial<FunctionSpec> & { dir?: string } = {},
    options: FunctionPoolOptions & { runtime?: NodeRuntimeOptions } = {},
  ): FunctionPool {
    const { runtime: runtimeOptions, ...poolOptions } = options;
    const pool = new FunctionPool(this.runtime(runtimeOptions), this.config(overrides), poolOptions);
    this.#pools.push(pool);
    return pool;
  }

  tmpDir(): string {
    const dir = mkdtempSync(join(tmpdir(), 'edgefc-runtime-'));
    this.#tmpDirs.push(dir);
    return dir;
  }

  async close(): Promise<void> {
    await Promise.all(this.#pools.map((pool) => pool.close({ graceMs: 0 })));
    await Promise.all(this.#runtimes.map((runtime) => runtime.close()));
    for (const dir of this.#tmpDirs) rmSync(dir, { recursive: true, force: true });
  }

  /** No instance or spare process alive, and nothing left in their process groups. */
  assertNoProcessesLeft(): void {
    for (const runtime of this.#runtimes) {
      expect(runtime.instanceCount).toBe(0);
      expect(runtime.spares.count).toBe(0);
    }
    for (const pid of this.pids) {
      expect(processExists(pid), `instance process ${pid}`).toBe(false);
      expect(processGroupMembers(pid), `process group ${pid}`).toEqual([]);
    }
  }
}

export const test = base.extend<{ harness: Harness }>({
  // eslint-disable-next-line no-empty-pattern
  harness: async ({}, use) => {
    const harness = new Harness();
    await use(harness);
    await harness.close();
    harness.assertNoProcessesLeft();
  },
});

/** A JSON result, parsed; the shape is the fixture's promise, not checked. */
export function parseResult<T = Record<string, unknown>>(result: InvocationResult): T {
  return JSON.parse(result.payload.toString()) as T;
}

/** The rejection of `promise`, for asserting on `code` and fields. Fails if it resolves. */
export async function rejectionOf(promise: Promise<unknown>): Promise<Record<string, unknown> & Error> {
  try {
    await promise;
  } catch (err) {
    return err as Record<string, unknown> & Error;
  }
  throw new Error('expected a rejection');
}
