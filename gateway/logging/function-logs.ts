/**
 * Where every function's output goes (docs/logs.md): one file per function in the data
 * directory, `<dir>/<Service>/<function>.log`, rotated by size; the gateway's own log (echo);
 * and, for calls that asked for it, a tail of the call's lines for the reply (§3.2 `log`).
 *
 * On the call's path this does string formatting and an array push per line; the disk is
 * written by RotatingFile's own loop. A call's output is capped (`maxInvocationBytes`): past
 * the cap its lines are counted, not kept, and one marker line says how much was dropped.
 */
import path from 'node:path';
import {
  formatFrame,
  formatFunctionLogLine,
  type FunctionLogFrame,
  type FunctionLogLine,
} from './function-log.js';
import { RotatingFile, type RotatingFileOptions } from './rotating-file.js';

/** FC returns the last 4 KB of a call's log with `X-Fc-Log-Type: Tail`; so do we. */
export const LOG_TAIL_BYTES = 4 * 1024;
/**
 * 1 MiB per call: a tenth of a log file by default, so one chatty call cannot rotate a
 * function's history away; a stack trace or a few thousand lines fit well within it.
 */
export const DEFAULT_MAX_INVOCATION_LOG_BYTES = 1024 * 1024;
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
  /** Output one call may write before the rest of its lines are dropped. @default 1 MiB */
  maxInvocationBytes?: number;
}

export interface FunctionLogsOptions extends FunctionLogOptions {
  /** Every line as the gateway's log shows it, `[S/F] <line>`. @default none */
  echo?: (line: string) => void;
  /** A log file that cannot be written (told once per failure streak). */
  onFileError?: (file: string, error: unknown) => void;
}

interface OpenCall {
  bytes: number;
  droppedBytes: number;
  droppedLines: number;
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
  readonly #calls = new Map<string, OpenCall>();
  readonly #tails = new Map<string, Tail>();
  readonly #maxInvocationBytes: number;
  #closed = false;

  constructor(options: FunctionLogsOptions = {}) {
    this.#options = options;
    this.#maxInvocationBytes = options.maxInvocationBytes ?? DEFAULT_MAX_INVOCATION_LOG_BYTES;
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

  /** One line a function wrote. */
  line(line: FunctionLogLine): void {
    const call = line.requestId === '' ? undefined : this.#calls.get(line.requestId);
    if (call !== undefined) {
      const bytes = Buffer.byteLength(line.message);
      if (call.bytes + bytes > this.#maxInvocationBytes) {
        call.droppedBytes += bytes;
        call.droppedLines += 1;
        return;
      }
      call.bytes += bytes;
    }
    this.#emit(line.serviceName, line.functionName, line.requestId, formatFunctionLogLine(line));
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
      if (!this.#calls.has(key)) this.#calls.set(key, { bytes: 0, droppedBytes: 0, droppedLines: 0 });
    }
    if (frame.phase === 'Invoke' && frame.edge === 'End') {
      const call = this.#calls.get(key);
      this.#calls.delete(key);
      if (call !== undefined && call.droppedLines > 0) {
        const marker: FunctionLogLine = {
          time: frame.time,
          serviceName: frame.serviceName,
          functionName: frame.functionName,
          requestId: key,
          level: 'warn',
          message: `… [edgefc: ${call.droppedBytes} bytes of output dropped (${call.droppedLines} lines); a call may log ${this.#maxInvocationBytes} bytes]`,
        };
        this.#emit(frame.serviceName, frame.functionName, key, formatFunctionLogLine(marker));
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

  #emit(serviceName: string, functionName: string, requestId: string, text: string, echo = true): void {
    // Frames stay out of the gateway's own log: two lines per call would drown it at any rate.
    if (echo) this.#options.echo?.(`[${serviceName}/${functionName}] ${text}`);
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
