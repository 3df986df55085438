/**
 * Harness for the contract suite: real runtimes, real processes. `test.extend` owns teardown:
 * pools and runtimes are closed, then no process any of them started, nor anything in their
 * process groups (the functions' own children), may be left.
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test as base } from 'vitest';
import type { FunctionLogLine } from '../../gateway/logging/function-log.js';
import type { FunctionSpec, ServiceSpec } from '../../gateway/registry/types.js';
import { FunctionPool } from '../../gateway/runtime/function-pool.js';
import { processExists, processGroupMembers } from '../../gateway/runtime/process/process-tree.js';
import type { FunctionInstance, InstanceConfig, Runtime } from '../../gateway/runtime/types.js';
import { functionSpec, identity, service } from '../runtime/harness.js';
import type { ContractTarget } from './targets.js';

export class ContractHarness {
  readonly logs: FunctionLogLine[] = [];
  /** Every process a runtime started, spares included: none may be left after the test. */
  readonly pids: number[] = [];
  /** The processes that became instances, in start order (a spare's pid appears here once taken). */
  readonly instancePids: number[] = [];
  readonly stateDir: string;
  readonly #runtimes: (Runtime & { readonly instanceCount: number })[] = [];
  readonly #pools: FunctionPool[] = [];
  readonly #instances: FunctionInstance[] = [];

  constructor() {
    this.stateDir = mkdtempSync(join(tmpdir(), 'edgefc-contract-'));
  }

  config(target: ContractTarget, overrides: Partial<FunctionSpec> = {}, serviceOverrides: Partial<ServiceSpec> = {}): InstanceConfig {
    const fn = functionSpec({ ...target.spec, ...overrides });
    // A function with a user of its own writes its records here as that user (contained.contract.test.ts).
    if (fn.runAs !== undefined) chmodSync(this.stateDir, 0o1777);
    return {
      service: { ...service, ...serviceOverrides },
      fn: { ...fn, environmentVariables: { STATE_DIR: this.stateDir, ...fn.environmentVariables } },
      identity,
      brokerUrl: 'mqtt://127.0.0.1:1883',
      onLog: (line) => this.logs.push(line),
    };
  }

  runtime(target: ContractTarget): Runtime {
    const runtime = target.runtime((info) => {
      this.pids.push(info.pid);
      if (info.functionName !== '') this.instancePids.push(info.pid);
    });
    this.#runtimes.push(runtime);
    return runtime;
  }

  /** `serviceOverrides`: e.g. a published version's `versionId` (§3.2a). */
  pool(target: ContractTarget, overrides: Partial<FunctionSpec> = {}, serviceOverrides: Partial<ServiceSpec> = {}): FunctionPool {
    const pool = new FunctionPool(this.runtime(target), this.config(target, overrides, serviceOverrides));
    this.#pools.push(pool);
    return pool;
  }

  async instance(target: ContractTarget, overrides: Partial<FunctionSpec> = {}): Promise<FunctionInstance> {
    const instance = await this.runtime(target).startInstance(this.config(target, overrides));
    this.#instances.push(instance);
    return instance;
  }

  file(name: string): string {
    return join(this.stateDir, name);
  }

  async close(): Promise<void> {
    await Promise.all(this.#pools.map((pool) => pool.close({ graceMs: 0 })));
    await Promise.all(this.#instances.map((instance) => instance.stop()));
    await Promise.all(this.#runtimes.map((runtime) => runtime.close()));
    rmSync(this.stateDir, { recursive: true, force: true });
  }

  assertNoProcessesLeft(): void {
    for (const runtime of this.#runtimes) expect(runtime.instanceCount).toBe(0);
    for (const pid of this.pids) {
      expect(processExists(pid), `instance process ${pid}`).toBe(false);
      expect(processGroupMembers(pid), `process group ${pid}`).toEqual([]);
    }
  }
}

export const test = base.extend<{ harness: ContractHarness }>({
  // eslint-disable-next-line no-empty-pattern
  harness: async ({}, use) => {
    const harness = new ContractHarness();
    await use(harness);
    await harness.close();
    harness.assertNoProcessesLeft();
  },
});

/** The event for one of test/fixtures/runtimes/ops.js's behaviours. */
export function op(name: string, fields: Record<string, unknown> = {}): string {
  return JSON.stringify({ op: name, ...fields });
}
