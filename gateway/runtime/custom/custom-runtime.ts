/**
 * FC's custom runtime (`runtime: custom`): the function brings its own program. In web server
 * mode (the default) it is an HTTP server called with FC's /initialize, /invoke and /pre-stop
 * (custom-web-instance.ts); with `customRuntimeConfig.webServerMode: false` it is started once
 * per event (custom-event-instance.ts). docs/runtime-custom.md.
 */
import type { InstanceConfig } from '../types.js';
import { ProcessRuntime } from '../process/process-runtime.js';
import type { ProcessRuntimeOptions, ResolvedProcessRuntimeOptions } from '../process/process-runtime.js';
import { CustomEventInstance } from './custom-event-instance.js';
import { CustomWebInstance } from './custom-web-instance.js';
import type { ProcessInstanceOptions } from './custom-web-instance.js';

export class CustomRuntime extends ProcessRuntime {
  constructor(options: ProcessRuntimeOptions = {}) {
    super(
      'custom',
      (config, id, resolved) => {
        const instance = instanceOptions(resolved, id, config);
        return config.fn.customRuntimeConfig?.webServerMode === false
          ? Promise.resolve(new CustomEventInstance(config, instance))
          : CustomWebInstance.start(config, instance);
      },
      options,
    );
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
