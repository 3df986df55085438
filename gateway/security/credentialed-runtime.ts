/**
 * Gives every function instance its own broker credential (function-credentials.ts) for as long
 * as it lives: issued before the instance starts (its environment carries it), revoked when it
 * stops, which also closes the connections made with it. A decorator around any Runtime, so the
 * four runtimes stay unaware of it.
 *
 * `isolation: none` functions share the gateway's process and `process.env`, so they share one
 * credential for the gateway's lifetime; they are trusted code (docs/runtime-node.md §9).
 */
import { Isolation } from '../registry/types.js';
import type { FunctionInstance, InstanceConfig, Runtime } from '../runtime/types.js';
import type { FunctionCredentials } from './function-credentials.js';

const IN_PROCESS_KEY = 'in-process';
let nextKey = 0;

export function withInstanceCredentials(runtime: Runtime, credentials: FunctionCredentials): Runtime {
  return {
    name: runtime.name,
    async startInstance(config: InstanceConfig): Promise<FunctionInstance> {
      const { service, fn } = config;
      if (fn.isolation === Isolation.none) {
        const brokerCredential = credentials.current(IN_PROCESS_KEY) ?? credentials.issue(IN_PROCESS_KEY, '*', '*');
        return runtime.startInstance({ ...config, brokerCredential });
      }
      nextKey += 1;
      const key = `instance-${nextKey}`;
      const brokerCredential = credentials.issue(key, service.name, fn.name);
      let instance: FunctionInstance;
      try {
        instance = await runtime.startInstance({ ...config, brokerCredential });
      } catch (error) {
        credentials.revoke(key);
        throw error;
      }
      const stop = instance.stop.bind(instance);
      instance.stop = () => stop().finally(() => credentials.revoke(key));
      return instance;
    },
    ...(runtime.prepare === undefined ? {} : { prepare: runtime.prepare.bind(runtime) }),
    close: () => runtime.close(),
  };
}
