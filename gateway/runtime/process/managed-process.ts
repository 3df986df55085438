/**
 * One function process for the runtimes that start a command (custom web server, non-web
 * event process, runtime API): spawned as the leader of its own process group, its output
 * turned into capped log lines, its resident memory watched, and everything it spawned killed
 * with it. The Node.js runtime forks with IPC instead (node/node-instance.ts) but shares the
 * same pieces: process-tree.ts, memory-watchdog.ts, log-lines.ts.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { parseFrameText, type FunctionLogFrame, type FunctionLogLevel } from '../../logging/function-log.js';
import type { InstanceConfig } from '../types.js';
import { LineSplitter, capLogLine } from './log-lines.js';
import { MemoryWatchdog } from './memory-watchdog.js';
import { killProcessGroup } from './process-tree.js';
import { writeFrame } from './invocation-frames.js';
import { spawnIdentity } from './run-as.js';

/** After 'exit', how long to wait for 'close' (stdio drained) before finishing anyway. */
const CLOSE_AFTER_EXIT_MS = 1000;

export interface ProcessExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Set when the process could not be started at all (ENOENT, EACCES). */
  spawnError?: Error;
}

export interface ManagedProcessOptions {
  command: string;
  args: readonly string[];
  env: Record<string, string>;
  config: InstanceConfig;
  watchdogIntervalMs: number;
  /** The request a raw output line belongs to, '' when it cannot be told. */
  attribute: () => string;
  /**
   * A line of raw output that spells one of FC's frame lines (`FC Invoke Start RequestId: …`,
   * as fc-runtime-go-sdk prints them). Absent: such lines are passed on as frames of the
   * function's own (they carry their request ID in the text).
   */
  onFrameText?: (frame: Pick<FunctionLogFrame, 'phase' | 'edge' | 'requestId' | 'error'>) => void;
  /** Over memorySize: the group is already killed when this is called. */
  onMemoryExceeded: (rssBytes: number) => void;
  /** Told every stdout chunk before it is split into log lines (non-web mode's result). */
  onStdout?: (chunk: Buffer) => void;
  /** Told every complete stderr line (non-web mode quotes the last one in its error). */
  onStderrLine?: (line: string) => void;
  onSpawn?: (pid: number) => void;
  /**
   * `/proc/<pid>/ns/net` of a network namespace to start the process in (net-namespace.ts):
   * it is started through `nsenter` as root, which enters the namespace and only then becomes
   * the function's user (`-S`/`-G`, supplementary groups dropped), since a process that is
   * already the function's user may not enter a namespace. nsenter execs the command: same pid.
   */
  netns?: string;
}

export class ManagedProcess {
  readonly #child: ChildProcess;
  readonly #options: ManagedProcessOptions;
  readonly #watchdog: MemoryWatchdog | undefined;
  readonly exited: Promise<ProcessExit>;
  readonly closed: Promise<void>;
  #exit: ProcessExit | undefined;

  constructor(options: ManagedProcessOptions) {
    this.#options = options;
    let markExited!: (exit: ProcessExit) => void;
    let markClosed!: () => void;
    this.exited = new Promise((resolve) => {
      markExited = resolve;
    });
    this.closed = new Promise((resolve) => {
      markClosed = resolve;
    });
    const onExit = (exit: ProcessExit): void => {
      if (this.#exit !== undefined) return;
      this.#exit = exit;
      this.#watchdog?.stop();
      // Its own exit or a crash: take down whatever it left running in its group, which also
      // releases the stdio pipes it shared, so 'close' can come.
      this.kill();
      markExited(exit);
    };
    const { fn } = options.config;
    // spawn() throws synchronously only for invalid arguments (a NUL in the env, checked by the
    // callers); ENOENT and EACCES arrive as 'error' events.
    const { netns } = options;
    const identity = spawnIdentity(fn);
    const [command, args] =
      netns === undefined
        ? [options.command, options.args]
        : ['nsenter', [`--net=${netns}`, ...('uid' in identity ? ['-S', String(identity.uid), '-G', String(identity.gid)] : []), '--', options.command, ...options.args]];
    const child = spawn(command, args, {
      cwd: fn.codeDir,
      // The function's own user when it has one (run-as.ts); nsenter becomes it after entering the namespace.
      ...(netns === undefined ? identity : {}),
      env: options.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      // Leader of its own process group: kill(-pid) reaches everything it starts.
      detached: true,
    });
    this.#child = child;
    child.on('error', (err) => {
      if (child.pid === undefined) {
        onExit({ code: null, signal: null, spawnError: err });
        markClosed();
      }
      // With a pid, an 'error' is a failed kill() of a process already gone: 'exit' follows.
    });
    child.on('exit', (code, signal) => {
      onExit({ code, signal });
      const fallback = setTimeout(markClosed, CLOSE_AFTER_EXIT_MS);
      fallback.unref();
      child.once('close', () => clearTimeout(fallback));
    });
    child.on('close', () => markClosed());
    this.#pipe(child.stdout, 'info', options.onStdout);
    this.#pipe(child.stderr, 'error', undefined, options.onStderrLine);
    if (child.pid !== undefined) {
      options.onSpawn?.(child.pid);
      this.#watchdog = new MemoryWatchdog(
        child.pid,
        fn.memorySizeMB * 1024 * 1024,
        (rss) => {
          this.kill();
          options.onMemoryExceeded(rss);
        },
        options.watchdogIntervalMs,
        true,
      );
    }
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  /** Undefined while it runs. */
  get exit(): ProcessExit | undefined {
    return this.#exit;
  }

  /** SIGKILL the whole group. Safe to call at any time, also after exit. */
  kill(): void {
    const pid = this.#child.pid;
    if (pid !== undefined) killProcessGroup(pid);
  }

  /**
   * SIGTERM the group, give it `graceMs` to exit, then SIGKILL the group (always: it may have
   * left children behind). Resolves once its output is drained.
   */
  async terminate(graceMs: number): Promise<void> {
    const pid = this.#child.pid;
    if (pid !== undefined && this.#exit === undefined && graceMs > 0) {
      try {
        process.kill(-pid, 'SIGTERM');
      } catch {
        // Gone already.
      }
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        this.exited,
        new Promise<void>((resolve) => {
          timer = setTimeout(resolve, graceMs);
        }),
      ]);
      clearTimeout(timer);
    }
    this.kill();
    await this.closed;
  }

  /** Log a line as the function's, capped; a failing sink never reaches the caller. */
  log(requestId: string, level: FunctionLogLevel, message: string): void {
    const { config } = this.#options;
    try {
      config.onLog({
        time: Date.now(),
        serviceName: config.fn.serviceName,
        functionName: config.fn.name,
        requestId,
        level,
        message: capLogLine(message),
      });
    } catch {
      // A failing log sink must not take the instance or the gateway down.
    }
  }

  #pipe(
    stream: NodeJS.ReadableStream | null,
    level: FunctionLogLevel,
    onChunk: ((chunk: Buffer) => void) | undefined,
    onLine?: (line: string) => void,
  ): void {
    if (stream === null) return;
    const splitter = new LineSplitter((line) => {
      onLine?.(line);
      const frame = level === 'info' ? parseFrameText(line) : undefined;
      if (frame !== undefined) {
        if (this.#options.onFrameText !== undefined) this.#options.onFrameText(frame);
        else {
          writeFrame(this.#options.config, frame.phase, frame.edge, frame.requestId, {
            source: 'function',
            ...(frame.error === undefined ? {} : { errorText: frame.error }),
          });
        }
        return;
      }
      this.log(this.#options.attribute(), level, line);
    });
    stream.on('data', (chunk: Buffer) => {
      onChunk?.(chunk);
      splitter.push(chunk);
    });
    stream.on('end', () => splitter.end());
    stream.on('error', () => undefined);
  }
}

/** "exit code 3" / "signal SIGKILL", for messages. */
export function describeExit(exit: ProcessExit): string {
  if (exit.spawnError !== undefined) return `could not start: ${exit.spawnError.message}`;
  return exit.signal === null ? `exit code ${String(exit.code)}` : `signal ${exit.signal}`;
}
