/**
 * The Node.js handler runtime: FC's `exports.handler = (event, context, callback) => ...`,
 * one child process per instance (why: node-instance.ts, docs/runtime-node.md), started from a
 * pre-forked spare when one fits (spare-processes.ts).
 */
import { existsSync, statSync } from 'node:fs';
import { dirname, join, parse } from 'node:path';
import { nanoid } from 'nanoid';
import { ServiceUnavailableError } from 'edgefc/errors';
import { Isolation, RuntimeName } from '../../registry/types.js';
import type { FunctionSpec } from '../../registry/types.js';
import type { FunctionInstance, InstanceConfig, Runtime } from '../types.js';
import { runnerPath as defaultRunnerPath, runtimeModulesDir as defaultRuntimeModulesDir } from './child-entry.js';
import { childEnv } from './child-env.js';
import { DEFAULT_WATCHDOG_INTERVAL_MS } from '../process/memory-watchdog.js';
import { NodeInstance } from './node-instance.js';
import { InProcessInstance } from './in-process/in-process-instance.js';
import { SpareProcesses } from './spare-processes.js';
import type { TakenSpare } from './spare-processes.js';

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
  /**
   * Keep a pre-forked spare process per memory size of the functions given to prepare(), so a
   * first call does not wait ~120 ms for a fork (spare-processes.ts). Costs one idle Node
   * process (~40 MB resident) per memory size in use.
   * @default true
   */
  spares?: boolean;
  /**
   * Once a spare has become an instance, wait this long before forking its replacement, so the
   * fork's 3-6 ms of blocked event loop does not land on that instance's first call.
   * @default 50
   */
  spareReplenishDelayMs?: number;
  /** Told about every spare process forked (its pid is reported again by onInstanceStart if it becomes an instance). */
  onSpareStart?: (info: { pid: number; memorySizeMB: number }) => void;
  /** @default the compiled dist/gateway/runtime/node/child/runner.js */
  runnerPath?: string;
  /** @default <package root>/runtime-modules */
  runtimeModulesDir?: string;
}

export class NodeRuntime implements Runtime {
  readonly name = 'nodejs';
  readonly #options: Required<Omit<NodeRuntimeOptions, 'onInstanceStart' | 'onSpareStart'>> & {
    onInstanceStart: NodeRuntimeOptions['onInstanceStart'] | undefined;
  };
  readonly #instances = new Set<NodeInstance>();
  readonly #starting = new Set<Promise<unknown>>();
  readonly #spares: SpareProcesses | undefined;
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
      spares: options.spares ?? true,
      spareReplenishDelayMs: options.spareReplenishDelayMs ?? 50,
      onInstanceStart: options.onInstanceStart,
    };
    const { runnerPath, runtimeModulesDir, spareReplenishDelayMs } = this.#options;
    this.#spares = this.#options.spares
      ? new SpareProcesses({
          runnerPath,
          runtimeModulesDir,
          replenishDelayMs: spareReplenishDelayMs,
          // Any directory that exists; a spare moves to its function's codeDir when taken.
          cwd: parse(runnerPath).root,
          ...(options.onSpareStart === undefined ? {} : { onSpawn: options.onSpareStart }),
        })
      : undefined;
  }

  /** Instances started by this runtime and not stopped yet. */
  get instanceCount(): number {
    return this.#instances.size;
  }

  /** Spare processes alive now, and those of them ready for a function (tests, diagnostics). */
  get spares(): { count: number; prepared: number; pids: number[] } {
    const spares = this.#spares;
    return { count: spares?.count ?? 0, prepared: spares?.preparedCount ?? 0, pids: spares?.pids ?? [] };
  }

  /**
   * The functions deployed now (at gateway start and after every redeploy): keep one spare
   * process per memory size of the Node.js ones, and none for sizes no longer deployed. Returns
   * at once; spares start in the background.
   */
  prepare(functions: readonly FunctionSpec[]): void {
    if (this.#closed || this.#spares === undefined) return;
    // The runner must be built; without it startInstance reports the problem, per call.
    if (!existsSync(this.#options.runnerPath)) return;
    // In-process functions (isolation: none) never take a process.
    const node = functions.filter(
      (fn) => (fn.runtime === RuntimeName.nodejs20 || fn.runtime === RuntimeName.nodejs18) && fn.isolation !== Isolation.none,
    );
    this.#spares.want(mostUsedSizes(node, MAX_SPARES));
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
    if (config.fn.isolation === Isolation.none) {
      // The SDK's ESM hook is compiled next to the runner (the gateway may run from sources).
      const sdkHookPath = join(dirname(options.runnerPath), 'sdk-resolve-hook.js');
      return InProcessInstance.start(config, { id, runtimeModulesDir: options.runtimeModulesDir, sdkHookPath, now: options.now });
    }
    const env = childEnv(config, options.runtimeModulesDir, id);
    const spare = this.#takeSpare(config, env);
    const starting = NodeInstance.start(config, {
      id,
      runnerPath: options.runnerPath,
      runtimeModulesDir: options.runtimeModulesDir,
      env,
      ...(spare === undefined ? {} : { spare }),
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
      if (spare !== undefined) this.#spares?.replenish(config.fn.memorySizeMB);
    }
    if (this.#closed) {
      await instance.stop();
      throw new ServiceUnavailableError('the Node.js runtime is closed');
    }
    this.#instances.add(instance);
    void instance.closed.then(() => this.#instances.delete(instance));
    return instance;
  }

  /** Stops every instance this runtime started and kills its spares. Idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
    const spares = this.#spares?.close();
    // Starts in progress stop themselves when they see #closed (above).
    await Promise.allSettled([...this.#starting]);
    await Promise.all([...this.#instances].map((instance) => instance.stop()));
    await spares;
  }

  /**
   * The spare for this function's memory size, unless the function needs what only a fresh
   * fork gives: startup-read variables that differ (child-env.ts), or a code directory that is
   * not there (a fork reports that as a spawn failure, ServiceUnavailable).
   */
  #takeSpare(config: InstanceConfig, env: Record<string, string>): TakenSpare | undefined {
    if (this.#spares === undefined) return undefined;
    if (statSync(config.fn.codeDir, { throwIfNoEntry: false })?.isDirectory() !== true) return undefined;
    return this.#spares.take(config.fn.memorySizeMB, env);
  }
}

/**
 * Spares kept at most. Each idle spare costs ~52 MB RSS (~20 MB of it its own, the rest the
 * node binary's pages shared with the gateway): two cover the default memorySize and one more,
 * without a template of many sizes costing a process each. Others cold-start by fork.
 */
const MAX_SPARES = 2;

/** The `limit` memory sizes the most functions use (ties: the smaller size first). */
function mostUsedSizes(functions: readonly FunctionSpec[], limit: number): number[] {
  const counts = new Map<number, number>();
  for (const fn of functions) counts.set(fn.memorySizeMB, (counts.get(fn.memorySizeMB) ?? 0) + 1);
  return [...counts]
    .sort(([sizeA, countA], [sizeB, countB]) => countB - countA || sizeA - sizeB)
    .slice(0, limit)
    .map(([size]) => size);
}
