/**
 * `edgefc logs SERVICE/FUNCTION`: print a function's log from the gateway's data directory
 * (docs/logs.md §3). It reads the files, so it runs on the gateway's machine; the gateway need
 * not be running.
 */
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { assertRequestId } from 'edgefc/protocol';
import { defaultDataDir } from '../../data-dir.js';
import { logFilePath } from '../../logging/function-logs.js';
import { follow, readTail, type LogRecord } from '../../logging/log-reader.js';
import { join, resolve } from 'node:path';
import { UsageError } from '../usage-error.js';
import type { Output } from './common.js';
import { parseTarget } from './invoke.js';

export const LOGS_USAGE = `Usage: edgefc logs SERVICE/FUNCTION [options]

Print a function's log: FC's frame lines (FC Invoke Start/End RequestId: …) and every line it
wrote, from <data>/logs/SERVICE/FUNCTION.log and its rotated files. Runs on the gateway's machine.

Options:
  --lines N, -n N     print the last N lines (default 100; 0: none, with --follow only new ones)
  --request-id ID     only the lines of the call with this request ID
  --follow, -f        keep printing lines as they are written (across rotations), until Ctrl-C
  --data DIR          the gateway's data directory (default $EDGEFC_DATA_DIR, else ./.edgefc)
  --json              one JSON object per line: {time, requestId, level, message}
`;

function parseLines(value: string | undefined): number {
  if (value === undefined) return 100;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new UsageError(`--lines must be a whole number ≥ 0 (got "${value}")`);
  return n;
}

function render(record: LogRecord, json: boolean): string {
  if (!json) return `${record.text}\n`;
  const { text: _text, ...fields } = record;
  return `${JSON.stringify(fields)}\n`;
}

export async function runLogs(argv: string[], output: Output, signal?: AbortSignal): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      lines: { type: 'string', short: 'n' },
      'request-id': { type: 'string' },
      follow: { type: 'boolean', short: 'f', default: false },
      data: { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    output.out(LOGS_USAGE);
    return 0;
  }
  if (positionals.length > 1) throw new UsageError(`unexpected arguments: ${positionals.slice(1).join(' ')}`);
  const { serviceName, functionName } = parseTarget(positionals[0]);
  const lines = parseLines(values.lines);
  const requestId = values['request-id'];
  if (requestId !== undefined) {
    try {
      assertRequestId(requestId);
    } catch (error) {
      throw new UsageError(`--request-id: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  const dataDir = values.data === undefined ? defaultDataDir() : resolve(values.data);
  const file = logFilePath(join(dataDir, 'logs'), serviceName, functionName);
  if (!existsSync(file) && !existsSync(`${file}.1`) && !values.follow) {
    output.err(`edgefc logs: no log for ${serviceName}/${functionName} in ${dataDir} (${file}): not called yet, or another --data directory?\n`);
    return 1;
  }

  const { records, position } = await readTail(file, { lines, ...(requestId === undefined ? {} : { requestId }) });
  for (const record of records) output.out(render(record, values.json));
  if (!values.follow) return 0;

  // Until Ctrl-C (or the caller's signal): SIGINT ends the follow loop cleanly, exit code 0.
  const controller = new AbortController();
  const stop = (): void => controller.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  signal?.addEventListener('abort', stop, { once: true });
  try {
    await follow(
      file,
      (record) => {
        if (requestId === undefined || record.requestId === requestId) output.out(render(record, values.json));
      },
      { signal: controller.signal, ...(position === undefined ? {} : { from: position }) },
    );
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    signal?.removeEventListener('abort', stop);
  }
  return 0;
}
