/**
 * The Node.js handler runtime: FC's `exports.handler = (event, context, callback) => ...`,
 * one child process per instance (why: node-instance.ts, docs/runtime-node.md).
 */
import { existsSync } from 'node:fs';
import { nanoid } from 'nanoid';
import { ServiceUnavailableError } from '../../../src/errors.js';
import type { FunctionInstance, InstanceConfig, Runtime } from '../types.js';
import { runnerPath as defaultRunnerPath, runtimeModulesDir as defaultRuntimeModulesDir } from './child-entry.js';
import { DEFAULT_WATCHDOG_INTERVAL_MS } from '../process/memory-watchdog.js';
import { NodeInstance } from './node-instance.js';

export interface NodeRuntimeOptions {
  /**
   * Bound on spawning an instance and loading its handler module.
   * @default 10_000
   */
  startTimeoutMs?: number;
  /**
   * After a call times out, how long the instance has to answer a ping before it is taken for
   * stuck (blocked event loop) and killed. A healthy child answers in well under 1 ms.
   * @default 100
   */
  livenessTimeoutMs?: number;
  /**
   * How long `stop()` waits for the child to exit by itself before SIGKILL.
   * @default 500
   */
  stopGraceMs?: number;
  /**
   * Interval between RSS reads of each instance (memory-watchdog.ts).
   * @default 100
   */
  watchdogIntervalMs?: number;
  /** Clock for deadlines. @default Date.now */
  now?: () => number;
  /** Instance id generator. @default nanoid(10) */
  generateId?: () => string;
  /** Told about every process started, e.g. for diagnostics or leak checks in tests. */
  onInstanceStart?: (info: { id: string; pid: number; functionName: string }) => void;
  /** @default the compiled dist/gateway/runtime/node/child/runner.js */
  runnerPath?: string;
  /** @default <package root>/runtime-modules */
  runtimeModulesDir?: string;
}

export class NodeRuntime implements Runtime {
  readonly name = 'nodejs';
  readonly #options: Required<Omit<NodeRuntimeOptions, 'onInstanceStart'>> & {
    onInstanceStart: NodeRuntimeOptions['onInstanceStart'] | undefined;
  };
  readonly #instances = new Set<NodeInstance>();
  readonly #starting = new Set<Promise<unknown>>();
  #closed = false;

  constructor(options: NodeRuntimeOptions = {}) {
    this.#options = {
      startTimeoutMs: options.startTimeoutMs ?? 10_000,
      livenessTimeoutMs: options.livenessTimeoutMs ?? 100,
      stopGraceMs: options.stopGraceMs ?? 500,
      watchdogIntervalMs: options.watchdogIntervalMs ?? DEFAULT_WATCHDOG_INTERVAL_MS,
      now: options.now ?? Date.now,
      generateId: options.generateId ?? (() => nanoid(10)),
      runnerPath: options.runnerPath ?? defaultRunnerPath,
      runtimeModulesDir: options.runtimeModulesDir ?? defaultRuntimeModulesDir,
      onInstanceStart: options.onInstanceStart,
    };
  }

  /** Instances started by this runtime and not stopped yet. */
  get instanceCount(): number {
    return this.#instances.size;
  }

  async startInstance(config: InstanceConfig): Promise<FunctionInstance> {
    if (this.#closed) throw new ServiceUnavailableError('the Node.js runtime is closed');
    const options = this.#options;
    if (!existsSync(options.runnerPath)) {
      throw new ServiceUnavailableError(
        `the Node.js runtime is not built: ${options.runnerPath} is missing (run npm run build)`,
      );
    }
    const id = options.generateId();
    const starting = NodeInstance.start(config, {
      id,
      runnerPath: options.runnerPath,
      runtimeModulesDir: options.runtimeModulesDir,
      startTimeoutMs: options.startTimeoutMs,
      livenessTimeoutMs: options.livenessTimeoutMs,
      stopGraceMs: options.stopGraceMs,
      watchdogIntervalMs: options.watchdogIntervalMs,
      now: options.now,
      onSpawn: (pid) => options.onInstanceStart?.({ id, pid, functionName: config.fn.name }),
    });
    this.#starting.add(starting);
    let instance: NodeInstance;
    try {
      instance = await starting;
    } finally {
      this.#starting.delete(starting);
    }
    if (this.#closed) {
      await instance.stop();
      throw new ServiceUnavailableError('the Node.js runtime is closed');
    }
    this.#instances.add(instance);
    void instance.closed.then(() => this.#instances.delete(instance));
    return instance;
  }

  /** Stops every instance this runtime started. Idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
    // Starts in progress stop themselves when they see #closed (above).
    await Promise.allSettled([...this.#starting]);
    await Promise.all([...this.#instances].map((instance) => instance.stop()));
  }
}
