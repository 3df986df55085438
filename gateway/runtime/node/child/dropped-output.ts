/**
 * Tells the gateway what console output the function process dropped past a budget
 * (console-capture.ts), so the function's log says so (gateway/logging/function-logs.ts):
 * a call's drops just before its reply, so they land in the call's marker line; drops outside
 * calls, and those of timers that outlived their call, within a second, one message per scope.
 */
import type { CallScope } from './console-capture.js';

/** How long drops outside a call's reply wait to be reported together. */
const REPORT_AFTER_MS = 1000;

export class DroppedOutputReports {
  readonly #send: (requestId: string, bytes: number, lines: number) => void;
  readonly #pending = new Set<CallScope>();
  #flushScheduled = false;

  constructor(send: (requestId: string, bytes: number, lines: number) => void) {
    this.#send = send;
  }

  /** A line of `scope` was dropped. */
  readonly dropped = (scope: CallScope): void => {
    this.#pending.add(scope);
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    setTimeout(this.#flushAll, REPORT_AFTER_MS).unref();
  };

  /** Report `scope`'s drops now (before its call's reply). */
  report(scope: CallScope): void {
    this.#pending.delete(scope);
    const dropped = scope.output.takeDropped();
    if (dropped !== undefined) this.#send(scope.requestId, dropped.bytes, dropped.lines);
  }

  readonly #flushAll = (): void => {
    this.#flushScheduled = false;
    for (const scope of [...this.#pending]) this.report(scope);
  };
}
