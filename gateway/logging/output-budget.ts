/**
 * How much output a function may log, counted where the output is made (the function process,
 * for console.*) and again where it is kept (function-logs.ts, for every runtime): the same
 * rules at both ends, so the gateway never receives what it would drop.
 *
 * - A call may log `maxBytes` (FunctionLogOptions.maxInvocationBytes, 1 MiB): a budget that
 *   ends, because the call ends. Lines past it are counted, not kept.
 * - Output outside any call (module load, initializer, timers that outlive no call) has no end
 *   to count to, so it is a rate: `maxBytes` at once, refilled at `maxBytes` per second. A
 *   function may log in the background; it cannot fill the log or the gateway's CPU with it.
 *
 * Bytes are UTF-8 bytes of a line's text as the gateway writes it (after capLogLine).
 */
import { TokenBucket } from '../token-bucket.js';

/**
 * 1 MiB per call: a tenth of a log file by default, so one chatty call cannot rotate a
 * function's history away; a stack trace or a few thousand lines fit well within it.
 */
export const DEFAULT_MAX_INVOCATION_LOG_BYTES = 1024 * 1024;

/** Output dropped since it was last reported. */
export interface DroppedOutput {
  bytes: number;
  lines: number;
}

abstract class OutputBudget {
  #droppedBytes = 0;
  #droppedLines = 0;

  /** What was dropped since the last call, and reset the count. */
  takeDropped(): DroppedOutput | undefined {
    if (this.#droppedBytes === 0 && this.#droppedLines === 0) return undefined;
    const dropped = { bytes: this.#droppedBytes, lines: this.#droppedLines };
    this.#droppedBytes = 0;
    this.#droppedLines = 0;
    return dropped;
  }

  /** Count output dropped elsewhere (at the source) as this budget's. */
  addDropped(bytes: number, lines: number): void {
    this.#droppedBytes += bytes;
    this.#droppedLines += lines;
  }

  protected drop(bytes: number, lines: number): false {
    this.addDropped(bytes, lines);
    return false;
  }
}

/** One call's output: `maxBytes` in all. */
export class CallOutputBudget extends OutputBudget {
  readonly maxBytes: number;
  #bytes = 0;

  constructor(maxBytes: number) {
    super();
    this.maxBytes = maxBytes;
  }

  /**
   * Output of `bytes` holding `lines` lines (a log line: 1; a raw write: its newlines): true to
   * keep it, false when it is past the budget (it is counted as dropped).
   */
  take(bytes: number, lines = 1): boolean {
    if (this.#bytes + bytes > this.maxBytes) return this.drop(bytes, lines);
    this.#bytes += bytes;
    return true;
  }
}

/** Output outside calls: `bytesPerSecond`, up to that much at once. */
export class OutsideCallsBudget extends OutputBudget {
  readonly #bucket: TokenBucket;
  readonly #now: () => number;

  /** @param now milliseconds, monotonic */
  constructor(bytesPerSecond: number, now: () => number) {
    super();
    this.#now = now;
    this.#bucket = new TokenBucket(bytesPerSecond, bytesPerSecond, now());
  }

  /** As CallOutputBudget.take. */
  take(bytes: number, lines = 1): boolean {
    return this.#bucket.take(bytes, this.#now()) || this.drop(bytes, lines);
  }
}
