/**
 * What the runtimes that start a command share: their options, and the set of instances they
 * started, so `close()` stops every one, including those still starting.
 */
import { nanoid } from 'nanoid';
import { ServiceUnavailableError } from 'edgefc/errors';
import type { FunctionInstance, InstanceConfig, Runtime } from '../types.js';
import { DEFAULT_WATCHDOG_INTERVAL_MS } from './memory-watchdog.js';

export interface ProcessRuntimeOptions {
  /**
   * Bound on starting an instance: until its server accepts connections (custom) or it first
   * asks for an invocation (runtime API). FC allows 120 s for a custom runtime; an edge box
   * should know much sooner that a function cannot start.
   * @default 10_000
   */
  startTimeoutMs?: number;
  /**
   * How long `stop()` lets the process exit after SIGTERM before SIGKILL.
   * @default 500
   */
  stopGraceMs?: number;
  /**
   * Interval between RSS reads of each instance's process tree (memory-watchdog.ts).
   * @default 100
   */
  watchdogIntervalMs?: number;
  /** Clock for deadlines. @default Date.now */
  now?: () => number;
  /** Instance id generator. @default nanoid(10) */
  generateId?: () => string;
  /** Told about every process started, e.g. for diagnostics or leak checks in tests. */
  onInstanceStart?: (info: { id: string; pid: number; functionName: string }) => void;
}

export type ResolvedProcessRuntimeOptions = Required<Omit<ProcessRuntimeOptions, 'onInstanceStart'>> & {
  onInstanceStart: ProcessRuntimeOptions['onInstanceStart'] | undefined;
};

export function resolveProcessRuntimeOptions(options: ProcessRuntimeOptions): ResolvedProcessRuntimeOptions {
  return {
    startTimeoutMs: options.startTimeoutMs ?? 10_000,
    stopGraceMs: options.stopGraceMs ?? 500,
    watchdogIntervalMs: options.watchdogIntervalMs ?? DEFAULT_WATCHDOG_INTERVAL_MS,
    now: options.now ?? Date.now,
    generateId: options.generateId ?? (() => nanoid(10)),
    onInstanceStart: options.onInstanceStart,
  };
}

/** An instance that can say when its processes are gone. */
export interface ClosableInstance extends FunctionInstance {
  readonly closed: Promise<void>;
}

export class InstanceSet {
  readonly #label: string;
  readonly #instances = new Set<ClosableInstance>();
  readonly #starting = new Set<Promise<unknown>>();
  #closed = false;

  constructor(label: string) {
    this.#label = label;
  }

  get size(): number {
    return this.#instances.size;
  }

  /** Refuses once closed; an instance whose start finishes after close() is stopped at once. */
  async track<T extends ClosableInstance>(start: () => Promise<T>): Promise<T> {
    if (this.#closed) throw new ServiceUnavailableError(`the ${this.#label} runtime is closed`);
    const starting = start();
    this.#starting.add(starting);
    let instance: T;
    try {
      instance = await starting;
    } finally {
      this.#starting.delete(starting);
    }
    if (this.#closed) {
      await instance.stop();
      throw new ServiceUnavailableError(`the ${this.#label} runtime is closed`);
    }
    this.#instances.add(instance);
    void instance.closed.then(() => this.#instances.delete(instance));
    return instance;
  }

  /** Stops every instance. Idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
    await Promise.allSettled([...this.#starting]);
    await Promise.all([...this.#instances].map((instance) => instance.stop()));
  }
}

/** Starts one instance with the id the runtime chose; the runtime tracks and closes it. */
export type StartProcessInstance = (config: InstanceConfig, id: string, options: ResolvedProcessRuntimeOptions) => Promise<ClosableInstance>;

/**
 * A runtime whose instances are processes the gateway starts (custom, go1): what they share is
 * the options, the id per instance, and tracking every instance until close(). They differ only
 * in how one instance starts.
 */
export class ProcessRuntime implements Runtime {
  readonly name: string;
  readonly #options: ResolvedProcessRuntimeOptions;
  readonly #instances: InstanceSet;
  readonly #start: StartProcessInstance;

  constructor(name: string, start: StartProcessInstance, options: ProcessRuntimeOptions = {}) {
    this.name = name;
    this.#options = resolveProcessRuntimeOptions(options);
    this.#instances = new InstanceSet(name);
    this.#start = start;
  }

  /** Instances started and not yet stopped. */
  get instanceCount(): number {
    return this.#instances.size;
  }

  startInstance(config: InstanceConfig): Promise<FunctionInstance> {
    const id = this.#options.generateId();
    return this.#instances.track(() => this.#start(config, id, this.#options));
  }

  close(): Promise<void> {
    return this.#instances.close();
  }
}
