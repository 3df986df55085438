/**
 * Runs the registry's functions: one pool per function, created on first call (a deployed but
 * never-called function costs no process), all closed together on shutdown.
 */
import { ServiceUnavailableError } from '../src/errors.js';
import type { Logger } from './logging/logger.js';
import { formatFunctionLogLine } from './logging/function-log.js';
import type { Registry } from './registry/registry.js';
import type { FunctionSpec, ServiceSpec } from './registry/types.js';
import { FunctionPool } from './runtime/function-pool.js';
import type { Invocation, InvocationResult, Runtime } from './runtime/types.js';

export interface FunctionStats {
  service: string;
  function: string;
  queued: number;
  running: number;
  instances: number;
  completed: number;
  failed: number;
  throttled: number;
}

export interface FunctionHostOptions {
  registry: Registry;
  runtime: Runtime;
  /** Broker URL functions use to reach this gateway (`new FCClient()` inside a function). */
  brokerUrl: string;
  logger: Logger;
}

export class FunctionHost {
  readonly #options: FunctionHostOptions;
  readonly #pools = new Map<string, FunctionPool>();
  #closing = false;

  constructor(options: FunctionHostOptions) {
    this.#options = options;
  }

  /**
   * Start one call of an already looked-up function. A call the host refuses at once
   * (shutting down, queue full) throws here, synchronously, so the caller knows it was never
   * accepted; the promise carries the run's outcome and rejects only with EdgeFCError.
   */
  submit(service: ServiceSpec, fn: FunctionSpec, invocation: Invocation): Promise<InvocationResult> {
    if (this.#closing) throw new ServiceUnavailableError('the gateway is shutting down');
    return this.#pool(service, fn).submit(invocation);
  }

  stats(): FunctionStats[] {
    const rows: FunctionStats[] = [];
    for (const fn of this.#options.registry.functions()) {
      const pool = this.#pools.get(key(fn.serviceName, fn.name));
      const s = pool?.stats();
      rows.push({
        service: fn.serviceName,
        function: fn.name,
        queued: s?.queued ?? 0,
        running: s?.running ?? 0,
        instances: s?.instances ?? 0,
        completed: s?.completed ?? 0,
        failed: s?.failed ?? 0,
        throttled: s?.throttled ?? 0,
      });
    }
    return rows;
  }

  async close(): Promise<void> {
    this.#closing = true;
    await Promise.all([...this.#pools.values()].map((pool) => pool.close()));
    this.#pools.clear();
    await this.#options.runtime.close();
  }

  #pool(service: ServiceSpec, fn: FunctionSpec): FunctionPool {
    const poolKey = key(service.name, fn.name);
    let pool = this.#pools.get(poolKey);
    if (pool === undefined) {
      const { logger, registry, brokerUrl, runtime } = this.#options;
      pool = new FunctionPool(runtime, {
        service,
        fn,
        identity: registry.identity,
        brokerUrl,
        onLog: (line) => logger.functionLine(`[${line.serviceName}/${line.functionName}] ${formatFunctionLogLine(line)}`),
      });
      this.#pools.set(poolKey, pool);
    }
    return pool;
  }
}

function key(serviceName: string, functionName: string): string {
  return `${serviceName}/${functionName}`;
}
