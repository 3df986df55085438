/**
 * FC's custom runtime (`runtime: custom`): the function brings its own program. In web server
 * mode (the default) it is an HTTP server called with FC's /initialize, /invoke and /pre-stop
 * (custom-web-instance.ts); with `customRuntimeConfig.webServerMode: false` it is started once
 * per event (custom-event-instance.ts). docs/runtime-custom.md.
 */
import type { FunctionInstance, InstanceConfig, Runtime } from '../types.js';
import { InstanceSet, resolveProcessRuntimeOptions } from '../process/process-runtime.js';
import type { ProcessRuntimeOptions, ResolvedProcessRuntimeOptions } from '../process/process-runtime.js';
import { CustomEventInstance } from './custom-event-instance.js';
import { CustomWebInstance } from './custom-web-instance.js';
import type { ProcessInstanceOptions } from './custom-web-instance.js';

export class CustomRuntime implements Runtime {
  readonly name = 'custom';
  readonly #options: ResolvedProcessRuntimeOptions;
  readonly #instances = new InstanceSet('custom');

  constructor(options: ProcessRuntimeOptions = {}) {
    this.#options = resolveProcessRuntimeOptions(options);
  }

  /** Instances started and not yet stopped. */
  get instanceCount(): number {
    return this.#instances.size;
  }

  startInstance(config: InstanceConfig): Promise<FunctionInstance> {
    const id = this.#options.generateId();
    const options = instanceOptions(this.#options, id, config);
    return this.#instances.track(async () =>
      config.fn.customRuntimeConfig?.webServerMode === false
        ? new CustomEventInstance(config, options)
        : CustomWebInstance.start(config, options),
    );
  }

  close(): Promise<void> {
    return this.#instances.close();
  }
}

export function instanceOptions(
  options: ResolvedProcessRuntimeOptions,
  id: string,
  config: InstanceConfig,
): ProcessInstanceOptions {
  return {
    id,
    startTimeoutMs: options.startTimeoutMs,
    stopGraceMs: options.stopGraceMs,
    watchdogIntervalMs: options.watchdogIntervalMs,
    now: options.now,
    onSpawn: (pid) => options.onInstanceStart?.({ id, pid, functionName: config.fn.name }),
  };
}
