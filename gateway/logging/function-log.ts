/**
 * A line a function wrote (console.* in Node; stdout/stderr elsewhere), tagged with the call it
 * belongs to. Rendered in FC's shape: `<ISO time> <requestId> [<LEVEL>] <message>`.
 *
 * And the frame lines FC writes around every call, `FC Invoke Start RequestId: <id>` /
 * `FC Invoke End RequestId: <id>` (`FC Initialize Start/End` around an initializer), in FC's
 * own text, so tools that split FC logs by call read ours unchanged (docs/logs.md §1).
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

export type FramePhase = 'Invoke' | 'Initialize';
export type FrameEdge = 'Start' | 'End';

/** One frame line: the start or end of a call (or of an initializer run) on an instance. */
export interface FunctionLogFrame {
  time: number;
  serviceName: string;
  functionName: string;
  requestId: string;
  phase: FramePhase;
  edge: FrameEdge;
  /** End only: why the call failed, FC's wording where FC has one (`Unhandled function error`); absent on success. */
  error?: string;
  /**
   * Who wrote it: `gateway` for frames the gateway writes, `function` for those a runtime
   * library printed itself (fc-runtime-go-sdk prints its own) and the gateway passed through.
   */
  source: 'gateway' | 'function';
}

export function formatFrame(frame: Pick<FunctionLogFrame, 'phase' | 'edge' | 'requestId' | 'error'>): string {
  const error = frame.error === undefined ? '' : `, Error: ${frame.error}`;
  return `FC ${frame.phase} ${frame.edge} RequestId: ${frame.requestId}${error}`;
}

/**
 * FC's frame text, as fc-runtime-go-sdk prints it (fc/function.go printStartLog/printEndLog:
 * `FC Invoke Start RequestId: %s`, `FC Invoke End RequestId: %s[, Error: …]`).
 */
const FRAME_TEXT = /^FC (Invoke|Initialize) (Start|End) RequestId: ([A-Za-z0-9_.:-]{1,128})(?:, Error: (.*))?$/;

/** The frame a line of raw output spells, or undefined. */
export function parseFrameText(text: string): Pick<FunctionLogFrame, 'phase' | 'edge' | 'requestId' | 'error'> | undefined {
  const match = FRAME_TEXT.exec(text);
  if (match === null) return undefined;
  const [, phase, edge, requestId, error] = match;
  if (requestId === undefined) return undefined;
  return {
    phase: phase as FramePhase,
    edge: edge as FrameEdge,
    requestId,
    ...(error === undefined ? {} : { error }),
  };
}
