/**
 * Routes `console.*` inside function code to the gateway as log lines tagged with the request
 * ID of the call that wrote them. The request ID travels in AsyncLocalStorage, so with
 * instanceConcurrency > 1 a line written after an `await` still lands on the right call.
 *
 * Each line is counted against its scope's output budget here, in the function process
 * (gateway/logging/output-budget.ts): a line past it is dropped before it is formatted for the
 * channel. Measured before: a call logging 100 MB as 1 KiB lines sent them as one IPC batch,
 * and the gateway, deserializing it, went from 91 to 461 MB RSS and stalled its other calls.
 */
import type { TraceContext } from 'edgefc/protocol';
import { AsyncLocalStorage } from 'node:async_hooks';
import { format } from 'node:util';
import type { FunctionLogLevel } from '../../../logging/function-log.js';
import type { CallOutputBudget, OutsideCallsBudget } from '../../../logging/output-budget.js';
import { capLogLine } from '../../process/log-lines.js';

export interface CallScope {
  requestId: string;
  /**
   * What this scope may still log: a call's budget, shared with whatever it left running
   * (timers outlive the call, not its budget); or the budget outside calls.
   */
  output: CallOutputBudget | OutsideCallsBudget;
  /** The call's trace context, which `new FCClient()` in its code continues (docs/protocol.md §3.7.4). */
  trace?: TraceContext;
}

export const callScope = new AsyncLocalStorage<CallScope>();

export type LogSink = (line: { time: number; requestId: string; level: FunctionLogLevel; message: string }) => void;

const LEVELS: ReadonlyArray<[keyof Console, FunctionLogLevel]> = [
  ['log', 'info'],
  ['info', 'info'],
  ['debug', 'verbose'],
  ['warn', 'warn'],
  ['error', 'error'],
];

/** Where one console call goes: the method called, its log level, the formatted text. */
export type ConsoleWriter = (method: string, level: FunctionLogLevel, message: string) => void;

/**
 * Replace `console.log/info/debug/warn/error/trace` with calls of `write`. Shared by the function
 * process (everything it prints is the function's) and the gateway's in-process functions
 * (../in-process/in-process-scope.ts: only what they print inside a call is theirs).
 */
export function replaceConsole(write: ConsoleWriter): void {
  const target = console as unknown as Record<string, unknown>;
  for (const [method, level] of LEVELS) {
    target[method] = (...args: unknown[]): void => write(method, level, format(...args));
  }
  target['trace'] = (...args: unknown[]): void => {
    const trace = { name: 'Trace', message: format(...args) } as Error;
    Error.captureStackTrace(trace, target['trace'] as () => void);
    write('trace', 'error', trace.stack ?? trace.message);
  };
}

/**
 * Send console output to `sink`, within budget: lines of `outside`'s scope when no call's scope
 * is active. A line past its scope's budget is counted there and `onDropped` told.
 */
export function captureConsole(sink: LogSink, outside: CallScope, onDropped: (scope: CallScope) => void): void {
  replaceConsole((_method, level, message) => {
    const scope = callScope.getStore() ?? outside;
    const text = capLogLine(message);
    if (!scope.output.take(Buffer.byteLength(text))) {
      onDropped(scope);
      return;
    }
    sink({ time: Date.now(), requestId: scope.requestId, level, message: text });
  });
}
