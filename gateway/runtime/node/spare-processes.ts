/**
 * Pre-forked, generic runner processes, one per memory size in use, so the first call of a
 * function does not wait for a fork.
 *
 * A Node.js instance costs ~120-140 ms before its handler runs (2 cores): ~65 ms of fork and
 * Node startup, the runner's own modules, then ~35-60 ms registering the ESM resolve hook
 * (module.register starts a loader thread); importing a small handler is ~5 ms. Everything but
 * the handler is the same for every function with the same exec flags, and the only exec flag
 * that differs is `--max-old-space-size=<memorySize>`. So we keep one process per memory size
 * of the deployed Node.js functions forked and prepared (hook registered); an instance start
 * takes it, sends it the function's environment, cwd and handler (child/adopt-function.ts), and
 * a replacement is forked shortly after.
 *
 * Bounds: at most one spare per memory size in `want()`; none when no Node.js function is
 * deployed; `close()` kills them all and waits until they are gone. A spare costs one idle Node
 * process, ~40 MB resident (docs/runtime-node.md §1). A spare that dies while idle is replaced,
 * up to MAX_IDLE_DEATHS times in a row, so a broken runner cannot become a fork loop.
 */
import { ChildMessageType, ParentMessageType, isChildMessage } from './child/ipc-messages.js';
import type { ParentMessage } from './child/ipc-messages.js';
import { spareEnv, startupEnvMatches } from './child-env.js';
import { forkRunner, type RunnerProcess } from './fork-runner.js';
import { killProcessGroup } from '../process/process-tree.js';

/** Deaths of idle spares in a row, per memory size, after which we stop replacing them until the next want(). */
const MAX_IDLE_DEATHS = 3;

export interface SpareProcessesOptions {
  runnerPath: string;
  runtimeModulesDir: string;
  /**
   * After a spare is taken, how long to wait (once its instance has started) before forking the
   * replacement: fork() blocks the gateway's event loop for 3-6 ms, which should not land on
   * the first call of the instance that just started.
   */
  replenishDelayMs: number;
  /** Where spares are started (their cwd until they take on a function). */
  cwd: string;
  onSpawn?: (info: { pid: number; memorySizeMB: number }) => void;
}

/** A spare taken for an instance: the process and its channel, and the environment it was forked with. */
export interface TakenSpare extends RunnerProcess {
  env: Record<string, string>;
}

interface Spare extends RunnerProcess {
  memorySizeMB: number;
  env: Record<string, string>;
  prepared: boolean;
  exited: Promise<void>;
  detach: () => void;
}

export class SpareProcesses {
  readonly #options: SpareProcessesOptions;
  /** Memory sizes (MB) of the deployed Node.js functions. */
  #wanted = new Set<number>();
  readonly #spares = new Map<number, Spare>();
  readonly #replenish = new Map<number, NodeJS.Timeout>();
  readonly #idleDeaths = new Map<number, number>();
  /** Spares being killed (no longer wanted, or closing): close() waits for them. */
  readonly #dying = new Set<Promise<void>>();
  #closed = false;

  constructor(options: SpareProcessesOptions) {
    this.#options = options;
  }

  /** Spares alive now (forked, not taken). */
  get count(): number {
    return this.#spares.size;
  }

  /** Spares that have registered their hook and wait for a function. */
  get preparedCount(): number {
    let prepared = 0;
    for (const spare of this.#spares.values()) if (spare.prepared) prepared += 1;
    return prepared;
  }

  /** Pids of the spares alive now. */
  get pids(): number[] {
    return [...this.#spares.values()].flatMap((spare) => (spare.child.pid === undefined ? [] : [spare.child.pid]));
  }

  /** Keep one spare for each of these memory sizes, and none for any other. */
  want(memorySizesMB: Iterable<number>): void {
    if (this.#closed) return;
    this.#wanted = new Set(memorySizesMB);
    this.#idleDeaths.clear();
    for (const [size, spare] of this.#spares) {
      if (!this.#wanted.has(size)) this.#kill(spare);
    }
    for (const [size, timer] of this.#replenish) {
      if (!this.#wanted.has(size)) {
        clearTimeout(timer);
        this.#replenish.delete(size);
      }
    }
    for (const size of this.#wanted) {
      if (!this.#spares.has(size) && !this.#replenish.has(size)) this.#fork(size);
    }
  }

  /**
   * The spare for `memorySizeMB`, if there is one a process started with `env` could have been
   * (startupEnvMatches). It may still be starting: its load waits in its channel. The caller
   * owns it from here, and calls replenish() once its start has settled.
   */
  take(memorySizeMB: number, env: Readonly<Record<string, string>>): TakenSpare | undefined {
    const spare = this.#spares.get(memorySizeMB);
    if (spare === undefined || !startupEnvMatches(env, spare.env)) return undefined;
    const { child, channel } = spare;
    // Gone already (its 'exit' may not have been emitted yet): let it die here, fork fresh.
    if (child.exitCode !== null || child.signalCode !== null || !channel.connected) return undefined;
    this.#spares.delete(memorySizeMB);
    spare.detach();
    return { child, channel, env: spare.env };
  }

  /** Fork a replacement for a spare taken for `memorySizeMB`, after replenishDelayMs. */
  replenish(memorySizeMB: number): void {
    if (this.#closed || !this.#wanted.has(memorySizeMB) || this.#spares.has(memorySizeMB)) return;
    if (this.#replenish.has(memorySizeMB)) return;
    const timer = setTimeout(() => {
      this.#replenish.delete(memorySizeMB);
      if (!this.#closed && this.#wanted.has(memorySizeMB) && !this.#spares.has(memorySizeMB)) this.#fork(memorySizeMB);
    }, this.#options.replenishDelayMs);
    timer.unref();
    this.#replenish.set(memorySizeMB, timer);
  }

  /** Kill every spare and wait until they are gone; no more are started. Idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const timer of this.#replenish.values()) clearTimeout(timer);
    this.#replenish.clear();
    for (const spare of this.#spares.values()) this.#kill(spare);
    await Promise.all([...this.#dying]);
  }

  #fork(memorySizeMB: number): void {
    const env = spareEnv();
    let runner: RunnerProcess;
    try {
      runner = forkRunner({ runnerPath: this.#options.runnerPath, cwd: this.#options.cwd, env, memorySizeMB });
    } catch {
      // Bad arguments only; an instance start will fork by itself and report the failure.
      return;
    }
    const { child, channel } = runner;
    const exited = new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) resolve();
      else child.once('exit', () => resolve());
    });
    const spare: Spare = { child, channel, memorySizeMB, env, prepared: false, exited, detach: () => undefined };
    const onMessage = (message: unknown): void => {
      if (isChildMessage(message) && message.type === ChildMessageType.prepared) {
        spare.prepared = true;
        this.#idleDeaths.delete(memorySizeMB);
      }
    };
    const onExit = (): void => this.#onIdleDeath(spare);
    // Spawn failure (no pid: there will be no 'exit') or a failed send.
    const onError = (): void => {
      if (child.pid === undefined) this.#onIdleDeath(spare);
    };
    channel.setHandlers({ onMessage });
    child.on('exit', onExit);
    child.on('error', onError);
    spare.detach = () => {
      channel.setHandlers({ onMessage: () => undefined });
      child.off('exit', onExit);
      child.off('error', onError);
    };
    if (child.pid === undefined) return; // 'error' follows
    this.#spares.set(memorySizeMB, spare);
    this.#options.onSpawn?.({ pid: child.pid, memorySizeMB });
    const prepare: ParentMessage = { type: ParentMessageType.prepare, runtimeModulesDir: this.#options.runtimeModulesDir };
    channel.send(prepare, (err) => {
      if (err !== null) this.#kill(spare);
    });
  }

  #onIdleDeath(spare: Spare): void {
    if (this.#spares.get(spare.memorySizeMB) !== spare) return;
    this.#spares.delete(spare.memorySizeMB);
    spare.detach();
    this.#discard(spare);
    const deaths = (this.#idleDeaths.get(spare.memorySizeMB) ?? 0) + 1;
    this.#idleDeaths.set(spare.memorySizeMB, deaths);
    if (deaths < MAX_IDLE_DEATHS) this.replenish(spare.memorySizeMB);
  }

  #kill(spare: Spare): void {
    if (this.#spares.get(spare.memorySizeMB) === spare) this.#spares.delete(spare.memorySizeMB);
    spare.detach();
    if (spare.child.pid !== undefined) killProcessGroup(spare.child.pid);
    this.#discard(spare);
  }

  /** Release its pipes and remember it until it has exited (reaped), for close(). */
  #discard(spare: Spare): void {
    spare.child.stdout?.destroy();
    spare.child.stderr?.destroy();
    spare.channel.close();
    // Keep a listener so a late 'error' (failed kill of a process already gone) is not thrown.
    spare.child.on('error', () => undefined);
    if (spare.child.pid === undefined) return;
    const dying = spare.exited.finally(() => this.#dying.delete(dying));
    this.#dying.add(dying);
  }
}
