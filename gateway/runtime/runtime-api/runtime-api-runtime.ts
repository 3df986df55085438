/**
 * FC's runtime API runtime (`runtime: go1`): the function is an executable that pulls its
 * invocations over HTTP (runtime-api-instance.ts), as binaries built with fc-runtime-go-sdk do.
 */
import { instanceOptions } from '../custom/custom-runtime.js';
import { InstanceSet, resolveProcessRuntimeOptions } from '../process/process-runtime.js';
import type { ProcessRuntimeOptions, ResolvedProcessRuntimeOptions } from '../process/process-runtime.js';
import type { FunctionInstance, InstanceConfig, Runtime } from '../types.js';
import { RuntimeApiInstance } from './runtime-api-instance.js';

export class RuntimeApiRuntime implements Runtime {
  readonly name = 'go1';
  readonly #options: ResolvedProcessRuntimeOptions;
  readonly #instances = new InstanceSet('go1');

  constructor(options: ProcessRuntimeOptions = {}) {
    this.#options = resolveProcessRuntimeOptions(options);
  }

  get instanceCount(): number {
    return this.#instances.size;
  }

  startInstance(config: InstanceConfig): Promise<FunctionInstance> {
    const id = this.#options.generateId();
    return this.#instances.track(() => RuntimeApiInstance.start(config, instanceOptions(this.#options, id, config)));
  }

  close(): Promise<void> {
    return this.#instances.close();
  }
}
