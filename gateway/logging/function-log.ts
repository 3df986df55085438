/**
 * A line a function wrote (console.* in Node; stdout/stderr elsewhere), tagged with the call it
 * belongs to. Rendered in FC's shape: `<ISO time> <requestId> [<LEVEL>] <message>`.
 */
export type FunctionLogLevel = 'verbose' | 'info' | 'warn' | 'error';

export interface FunctionLogLine {
  time: number;
  serviceName: string;
  functionName: string;
  /** Empty when the line was written outside any call (module load, initializer). */
  requestId: string;
  level: FunctionLogLevel;
  message: string;
}

export function formatFunctionLogLine(line: FunctionLogLine): string {
  const time = new Date(line.time).toISOString();
  const id = line.requestId === '' ? '-' : line.requestId;
  return `${time} ${id} [${line.level.toUpperCase()}] ${line.message}`;
}
