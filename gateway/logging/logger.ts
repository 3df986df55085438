/**
 * The gateway's own log: one line per event, `<ISO time> <LEVEL> <message> key=value…`.
 * Injectable so tests and embedders can capture or silence it. `format: 'json'` writes one JSON
 * object per line instead (`edgefc start --log-format json`), for log shippers.
 */
import type { FunctionLogLine } from './function-log.js';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export type LogFields = Readonly<Record<string, string | number | boolean | undefined>>;

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  /**
   * A function's own output, already formatted (gateway/logging/function-log.ts); `record` is
   * the line it was made from, when there is one (a JSON logger writes its fields).
   */
  functionLine(line: string, record?: FunctionLogLine): void;
}

const LEVEL_ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

function renderFields(fields: LogFields | undefined): string {
  if (fields === undefined) return '';
  let out = '';
  for (const [key, value] of Object.entries(fields)) {
    if (value === undefined) continue;
    const text = String(value);
    out += ` ${key}=${/[\s"=]/.test(text) ? JSON.stringify(text) : text}`;
  }
  return out;
}

export interface StreamLoggerOptions {
  /** @default 'info' */
  level?: LogLevel;
  /** @default process.stderr */
  write?: (line: string) => void;
  /**
   * Bytes written but not yet taken by the output (a pipe whose reader is slow holds them in
   * this process). Past `maxBacklogBytes`, functions' lines are dropped, and counted in a line
   * once the output keeps up again; the gateway's own lines are always written.
   * @default process.stderr.writableLength with the default `write`, else 0
   */
  backlog?: () => number;
  /** @default 4 MiB */
  maxBacklogBytes?: number;
  /**
   * `text`: `<ISO time> <LEVEL> <message> key=value…`; `json`: `{"time","level","message",…fields}`
   * per line, and functions' lines as `{"time","level","service","function","requestId","text"}`.
   * @default 'text'
   */
  format?: 'text' | 'json';
}

/**
 * 4 MiB, as a log file's write queue (rotating-file.ts): functions' lines are echoed to stderr
 * too, and stderr to a pipe is asynchronous here (Node 20, Linux: a 10 MB write returns at once
 * with writableLength 10,000,000), so a reader that falls behind would make the gateway hold
 * them (measured: 100 MB a function printed after its call had ended was echoed whole, 109 MB,
 * while the gateway's RSS peaked at 461 MB). The log files have them.
 */
const DEFAULT_MAX_BACKLOG_BYTES = 4 * 1024 * 1024;

export function createStreamLogger(options: StreamLoggerOptions = {}): Logger {
  const threshold = LEVEL_ORDER[options.level ?? 'info'];
  const write = options.write ?? ((line: string) => process.stderr.write(line));
  const backlog = options.backlog ?? (options.write === undefined ? () => process.stderr.writableLength : () => 0);
  const maxBacklog = options.maxBacklogBytes ?? DEFAULT_MAX_BACKLOG_BYTES;
  let droppedLines = 0;
  const json = options.format === 'json';
  const log = (level: LogLevel, message: string, fields?: LogFields): void => {
    if (LEVEL_ORDER[level] < threshold) return;
    const time = new Date().toISOString();
    // The fixed keys last: a field cannot pass itself off as the time, level or message.
    if (json) write(`${JSON.stringify({ ...fields, time, level, message })}\n`);
    else write(`${time} ${level.toUpperCase()} ${message}${renderFields(fields)}\n`);
  };
  return {
    debug: (message, fields) => log('debug', message, fields),
    info: (message, fields) => log('info', message, fields),
    warn: (message, fields) => log('warn', message, fields),
    error: (message, fields) => log('error', message, fields),
    functionLine: (line, record) => {
      if (backlog() > maxBacklog) {
        droppedLines += 1;
        return;
      }
      if (droppedLines > 0) {
        log('warn', "functions' log lines not echoed here: the output did not keep up (they are in the log files)", { lines: droppedLines });
        droppedLines = 0;
      }
      if (!json) write(`${line}\n`);
      else if (record === undefined) write(`${JSON.stringify({ time: new Date().toISOString(), level: 'info', text: line })}\n`);
      else {
        const { time, level, serviceName: service, functionName, requestId, message: text } = record;
        write(`${JSON.stringify({ time: new Date(time).toISOString(), level, service, function: functionName, requestId, text })}\n`);
      }
    },
  };
}

export const silentLogger: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  functionLine: () => undefined,
};
