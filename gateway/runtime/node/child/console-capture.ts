/**
 * Routes `console.*` inside function code to the gateway as log lines tagged with the request
 * ID of the call that wrote them. The request ID travels in AsyncLocalStorage, so with
 * instanceConcurrency > 1 a line written after an `await` still lands on the right call.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { format } from 'node:util';
import type { FunctionLogLevel } from '../../../logging/function-log.js';
import { capLogLine } from '../../process/log-lines.js';

export interface CallScope {
  requestId: string;
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

export function captureConsole(sink: LogSink): void {
  replaceConsole((_method, level, message) => {
    sink({
      time: Date.now(),
      requestId: callScope.getStore()?.requestId ?? '',
      level,
      message: capLogLine(message),
    });
  });
}
