/**
 * FC's runtime API runtime (`runtime: go1`): the function is an executable that pulls its
 * invocations over HTTP (runtime-api-instance.ts), as binaries built with fc-runtime-go-sdk do.
 */
import { instanceOptions } from '../custom/custom-runtime.js';
import { ProcessRuntime } from '../process/process-runtime.js';
import type { ProcessRuntimeOptions } from '../process/process-runtime.js';
import { RuntimeApiInstance } from './runtime-api-instance.js';

export class RuntimeApiRuntime extends ProcessRuntime {
  constructor(options: ProcessRuntimeOptions = {}) {
    super('go1', (config, id, resolved) => RuntimeApiInstance.start(config, instanceOptions(resolved, id, config)), options);
  }
}
