/**
 * Picks each function's runtime by its template `runtime`, through one map. It is itself a
 * Runtime, so the function host and pools stay runtime-agnostic: `startInstance` hands the
 * call to the runtime the function names, `close()` closes every one.
 */
import { ServiceUnavailableError } from 'edgefc/errors';
import { RuntimeName } from '../registry/types.js';
import type { FunctionSpec } from '../registry/types.js';
import { CustomRuntime } from './custom/custom-runtime.js';
import { NodeRuntime } from './node/node-runtime.js';
import type { NodeRuntimeOptions } from './node/node-runtime.js';
import type { ProcessRuntimeOptions } from './process/process-runtime.js';
import { RuntimeApiRuntime } from './runtime-api/runtime-api-runtime.js';
import type { FunctionInstance, InstanceConfig, Runtime } from './types.js';

export interface RuntimeRegistryOptions {
  node?: NodeRuntimeOptions;
  /** For `custom` and `go1`. */
  process?: ProcessRuntimeOptions;
}

export class RuntimeRegistry implements Runtime {
  readonly name = 'registry';
  readonly #byName: ReadonlyMap<RuntimeName, Runtime>;

  constructor(options: RuntimeRegistryOptions = {}) {
    const node = new NodeRuntime(options.node);
    this.#byName = new Map<RuntimeName, Runtime>([
      // One Node.js runtime for both versions: the gateway runs its own Node for every function.
      [RuntimeName.nodejs20, node],
      [RuntimeName.nodejs18, node],
      [RuntimeName.custom, new CustomRuntime(options.process)],
      [RuntimeName.go1, new RuntimeApiRuntime(options.process)],
    ]);
  }

  /** The runtime that runs functions of `name`. */
  get(name: RuntimeName): Runtime | undefined {
    return this.#byName.get(name);
  }

  startInstance(config: InstanceConfig): Promise<FunctionInstance> {
    const runtime = this.#byName.get(config.fn.runtime);
    if (runtime === undefined) {
      return Promise.reject(new ServiceUnavailableError(`no runtime ${JSON.stringify(config.fn.runtime)} on this gateway`));
    }
    return runtime.startInstance(config);
  }

  /** Each runtime hears about its own functions (nodejs18 and nodejs20 share one). */
  prepare(functions: readonly FunctionSpec[]): void {
    const byRuntime = new Map<Runtime, FunctionSpec[]>();
    for (const runtime of new Set(this.#byName.values())) byRuntime.set(runtime, []);
    for (const fn of functions) {
      const runtime = this.#byName.get(fn.runtime);
      if (runtime !== undefined) byRuntime.get(runtime)?.push(fn);
    }
    for (const [runtime, own] of byRuntime) runtime.prepare?.(own);
  }

  async close(): Promise<void> {
    await Promise.all([...new Set(this.#byName.values())].map((runtime) => runtime.close()));
  }
}
