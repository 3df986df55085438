/**
 * Where every function's output goes (docs/logs.md): one file per function in the data
 * directory, `<dir>/<Service>/<function>.log`, rotated by size; the gateway's own log (echo);
 * and, for calls that asked for it, a tail of the call's lines for the reply (§3.2 `log`).
 *
 * On the call's path this does string formatting and an array push per line; the disk is
 * written by RotatingFile's own loop. A call's output is capped (`maxInvocationBytes`): past
 * the cap its lines are counted, not kept, and one marker line says how much was dropped.
 * Output outside any open call (request ID '', or of a call that has ended) is limited to
 * `maxInvocationBytes` per second per function, with a marker line when it flows again
 * (output-budget.ts). Either way nothing past a budget is kept, and nothing waits.
 */
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import {
  formatFrame,
  formatFunctionLogLine,
  type FunctionLogFrame,
  type FunctionLogLine,
} from './function-log.js';
import { CallOutputBudget, DEFAULT_MAX_INVOCATION_LOG_BYTES, OutsideCallsBudget } from './output-budget.js';
import { RotatingFile, type RotatingFileOptions } from './rotating-file.js';

/** FC returns the last 4 KB of a call's log with `X-Fc-Log-Type: Tail`; so do we. */
export const LOG_TAIL_BYTES = 4 * 1024;
export { DEFAULT_MAX_INVOCATION_LOG_BYTES } from './output-budget.js';
/**
 * Calls whose output is being counted at once. Entries open at `Invoke Start` and close at
 * `Invoke End`; a frame that never comes (a process killed mid-line) must not grow this
 * forever, so the oldest entries go first past this bound.
 */
const MAX_OPEN_CALLS = 10_000;

export interface FunctionLogOptions {
  /**
   * Directory of the per-function files (`<dir>/<Service>/<function>.log`). Absent: no files,
   * lines only go to `echo`.
   * @example '/var/lib/edgefc/logs'
   */
  dir?: string;
  /** Size of one file before it is rotated. @default 10 MiB */
  maxFileBytes?: number;
  /** Files kept per function, the current one included. @default 5 */
  maxFiles?: number;
  /**
   * Output one call may write before the rest of its lines are dropped; also what a function
   * may write per second outside calls.
   * @default 1 MiB
   */
  maxInvocationBytes?: number;
}

export interface FunctionLogsOptions extends FunctionLogOptions {
  /** Every line as the gateway's log shows it, `[S/F] <line>`. @default none */
  echo?: (line: string, record?: FunctionLogLine) => void;
  /** A log file that cannot be written (told once per failure streak). */
  onFileError?: (file: string, error: unknown) => void;
  /** Milliseconds, monotonic: the clock of the budget outside calls. @default performance.now */
  now?: () => number;
}

/** The last LOG_TAIL_BYTES of one call's lines. */
class Tail {
  readonly #lines: string[] = [];
  #bytes = 0;
  /** Callers waiting for this tail: two calls with the same request ID (different clients) share one. */
  users = 1;

  push(text: string): void {
    const line = text.length > LOG_TAIL_BYTES ? text.slice(0, LOG_TAIL_BYTES) : text;
    this.#lines.push(line);
    this.#bytes += Buffer.byteLength(line) + 1;
    while (this.#bytes > LOG_TAIL_BYTES && this.#lines.length > 1) {
      const first = this.#lines.shift() ?? '';
      this.#bytes -= Buffer.byteLength(first) + 1;
    }
  }

  text(): string {
    const joined = this.#lines.join('\n');
    // One line alone may still be over in bytes (multi-byte characters): cut at the end, keep the tail.
    const bytes = Buffer.from(joined, 'utf8');
    return bytes.length <= LOG_TAIL_BYTES ? joined : bytes.subarray(bytes.length - LOG_TAIL_BYTES).toString('utf8');
  }
}

export class FunctionLogs {
  readonly #options: FunctionLogsOptions;
  readonly #fileOptions: RotatingFileOptions;
  readonly #files = new Map<string, RotatingFile>();
  readonly #calls = new Map<string, CallOutputBudget>();
  /** Per function (`S/F`): output outside calls. */
  readonly #outside = new Map<string, OutsideCallsBudget>();
  readonly #tails = new Map<string, Tail>();
  readonly #maxInvocationBytes: number;
  readonly #now: () => number;
  #closed = false;

  constructor(options: FunctionLogsOptions = {}) {
    this.#options = options;
    this.#maxInvocationBytes = options.maxInvocationBytes ?? DEFAULT_MAX_INVOCATION_LOG_BYTES;
    this.#now = options.now ?? (() => performance.now());
    this.#fileOptions = {
      ...(options.maxFileBytes === undefined ? {} : { maxBytes: options.maxFileBytes }),
      ...(options.maxFiles === undefined ? {} : { maxFiles: options.maxFiles }),
    };
  }

  /** The file a function's log is written to (whether or not it exists yet); undefined without a directory. */
  fileOf(serviceName: string, functionName: string): string | undefined {
    const { dir } = this.#options;
    return dir === undefined ? undefined : logFilePath(dir, serviceName, functionName);
  }

  /** Output one call may write (and a function, per second, outside calls). */
  get maxInvocationBytes(): number {
    return this.#maxInvocationBytes;
  }

  /** One line a function wrote. */
  line(line: FunctionLogLine): void {
    const bytes = Buffer.byteLength(line.message);
    const call = line.requestId === '' ? undefined : this.#calls.get(line.requestId);
    if (call !== undefined) {
      if (!call.take(bytes)) return;
    } else {
      const outside = this.#outsideOf(line.serviceName, line.functionName);
      if (!outside.take(bytes)) return;
      const dropped = outside.takeDropped();
      if (dropped !== undefined) {
        this.#emitMarker(line, '', `${dropped.bytes} bytes of output outside calls dropped (${dropped.lines} lines); outside calls a function may log ${this.#maxInvocationBytes} bytes per second`);
      }
    }
    this.#emit(line.serviceName, line.functionName, line.requestId, formatFunctionLogLine(line), true, line);
  }

  /**
   * Output a runtime dropped at the source (the function process counts console.* against the
   * same budgets, so it never sends what would be dropped here): counted as if dropped here, so
   * the call's marker line, or the next one outside calls, says so.
   */
  dropped(serviceName: string, functionName: string, requestId: string, bytes: number, lines: number): void {
    const call = requestId === '' ? undefined : this.#calls.get(requestId);
    (call ?? this.#outsideOf(serviceName, functionName)).addDropped(bytes, lines);
  }

  /** One frame line: opens or closes the call's output accounting. */
  frame(frame: FunctionLogFrame): void {
    const key = frame.requestId;
    if (frame.phase === 'Invoke' && frame.edge === 'Start') {
      if (this.#calls.size >= MAX_OPEN_CALLS) {
        const [oldest] = this.#calls.keys();
        if (oldest !== undefined) this.#calls.delete(oldest);
      }
      // A second Start for an open call (the SDK's after ours) keeps the count it has.
      if (!this.#calls.has(key)) this.#calls.set(key, new CallOutputBudget(this.#maxInvocationBytes));
    }
    if (frame.phase === 'Invoke' && frame.edge === 'End') {
      const dropped = this.#calls.get(key)?.takeDropped();
      this.#calls.delete(key);
      if (dropped !== undefined) {
        this.#emitMarker(frame, key, `${dropped.bytes} bytes of output dropped (${dropped.lines} lines); a call may log ${this.#maxInvocationBytes} bytes`);
      }
    }
    this.#emit(frame.serviceName, frame.functionName, key, formatFrame(frame), false);
  }

  /** Start keeping the last LOG_TAIL_BYTES of the lines of call `requestId`. */
  tap(requestId: string): void {
    const tail = this.#tails.get(requestId);
    if (tail === undefined) this.#tails.set(requestId, new Tail());
    else tail.users += 1;
  }

  /** Stop keeping them and return what was kept (lines joined with '\n'). */
  untap(requestId: string): string {
    const tail = this.#tails.get(requestId);
    if (tail === undefined) return '';
    tail.users -= 1;
    if (tail.users <= 0) this.#tails.delete(requestId);
    return tail.text();
  }

  /** Everything written so far is on disk. */
  async flush(): Promise<void> {
    await Promise.all([...this.#files.values()].map((file) => file.flush()));
  }

  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all([...this.#files.values()].map((file) => file.close()));
    this.#files.clear();
  }

  #outsideOf(serviceName: string, functionName: string): OutsideCallsBudget {
    const key = `${serviceName}/${functionName}`;
    let budget = this.#outside.get(key);
    if (budget === undefined) {
      budget = new OutsideCallsBudget(this.#maxInvocationBytes, this.#now);
      this.#outside.set(key, budget);
    }
    return budget;
  }

  #emitMarker(at: { time: number; serviceName: string; functionName: string }, requestId: string, what: string): void {
    const marker: FunctionLogLine = {
      time: at.time,
      serviceName: at.serviceName,
      functionName: at.functionName,
      requestId,
      level: 'warn',
      message: `… [edgefc: ${what}]`,
    };
    this.#emit(at.serviceName, at.functionName, requestId, formatFunctionLogLine(marker), true, marker);
  }

  #emit(serviceName: string, functionName: string, requestId: string, text: string, echo = true, record?: FunctionLogLine): void {
    // Frames stay out of the gateway's own log: two lines per call would drown it at any rate.
    if (echo) this.#options.echo?.(`[${serviceName}/${functionName}] ${text}`, record);
    if (requestId !== '') this.#tails.get(requestId)?.push(text);
    this.#file(serviceName, functionName)?.write(text);
  }

  #file(serviceName: string, functionName: string): RotatingFile | undefined {
    const { dir } = this.#options;
    if (dir === undefined || this.#closed) return undefined;
    const key = `${serviceName}/${functionName}`;
    let file = this.#files.get(key);
    if (file === undefined) {
      const filePath = logFilePath(dir, serviceName, functionName);
      const { onFileError } = this.#options;
      file = new RotatingFile(filePath, {
        ...this.#fileOptions,
        ...(onFileError === undefined ? {} : { onError: (error: unknown) => onFileError(filePath, error) }),
      });
      this.#files.set(key, file);
    }
    return file;
  }
}

/**
 * Start keeping call `requestId`'s tail; the returned function stops and returns it (once:
 * later calls return undefined), so every path of a caller can call it safely.
 */
export function tapLogTail(logs: FunctionLogs, requestId: string): () => string | undefined {
  logs.tap(requestId);
  let taken = false;
  return () => {
    if (taken) return undefined;
    taken = true;
    return logs.untap(requestId);
  };
}

/**
 * `<dir>/<Service>/<function>.log`. Names are safe path segments: the registry only admits
 * `[A-Za-z_][A-Za-z0-9_-]*` (docs/protocol.md §7.1).
 */
export function logFilePath(dir: string, serviceName: string, functionName: string): string {
  return path.join(dir, serviceName, `${functionName}.log`);
}
