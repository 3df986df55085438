/**
 * `edgefc logs SERVICE/FUNCTION`: print a function's log (docs/logs.md §3). By default from the
 * running gateway over the admin channel, page by page behind a cursor (docs/protocol.md §9.13),
 * so it works from an operator's machine; with `--local`, from the files in a data directory on
 * this machine, through the same pages (the gateway need not be running).
 */
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { FunctionNotFoundError } from 'edgefc/errors';
import { assertRequestId } from 'edgefc/protocol';
import { defaultDataDir } from '../../data-dir.js';
import { logFilePath } from '../../logging/function-logs.js';
import { DEFAULT_PAGE_BYTES, readLogPage, type LogPage } from '../../logging/log-pages.js';
import { LogParser } from '../../logging/log-reader.js';
import { parseSince } from '../../logging/since.js';
import { AdminClient } from '../admin-client.js';
import { CONNECTION_USAGE } from '../connection.js';
import { UsageError } from '../usage-error.js';
import { connectionOptions, connectionOrFailure, parseTimeoutMs, printFailure, type Output } from './common.js';
import { parseTarget } from './invoke.js';

export const LOGS_USAGE = `Usage: edgefc logs SERVICE/FUNCTION [options]

Print a function's log: FC's frame lines (FC Invoke Start/End RequestId: …) and every line it
wrote, from the running gateway (over the admin channel: operators only), or with --local from
the files in a data directory on this machine.

Options:
  --tail N, -n N      start at the last N lines (default 100, or with --since every line since;
                      0: none, with --follow only new ones) (--lines N is the same)
  --since WHEN        start at the first line written since WHEN: a duration back from now
                      (90s, 10m, 2h, 1d, on the gateway's clock) or an ISO time (2026-01-31T12:00:00Z);
                      with --tail too, the later start of the two
  --request-id ID     only the lines of the call with this request ID
  --follow, -f        keep printing lines as they are written (across rotations), until Ctrl-C
  --json              one JSON object per line: {time, requestId, level, message}
  --local             read the log files on this machine instead (--data DIR: the gateway's data
                      directory, default $EDGEFC_DATA_DIR, else ./.edgefc)

${CONNECTION_USAGE}
`;

/** Between two polls of a follow: remote, one admin request a second; local, five stat()s. */
const REMOTE_POLL_MS = 1000;
const LOCAL_POLL_MS = 200;

export const LOGS_OPTIONS = {
  ...connectionOptions,
  tail: { type: 'string', short: 'n' },
  lines: { type: 'string' },
  since: { type: 'string' },
  'request-id': { type: 'string' },
  follow: { type: 'boolean', short: 'f', default: false },
  local: { type: 'boolean', default: false },
} as const;

function parseTail(flag: string, value: string | undefined): number {
  if (value === undefined) return 100;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 100_000) throw new UsageError(`${flag} must be a whole number from 0 to 100000 (got "${value}")`);
  return n;
}

type ReadPage = (args: { cursor?: string; tail?: number; since?: string; requestId?: string }) => Promise<LogPage>;

export async function runLogs(argv: string[], output: Output, signal?: AbortSignal): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: LOGS_OPTIONS });
  if (values.help) {
    output.out(LOGS_USAGE);
    return 0;
  }
  if (positionals.length > 1) throw new UsageError(`unexpected arguments: ${positionals.slice(1).join(' ')}`);
  const { serviceName, functionName } = parseTarget(positionals[0]);
  if (values.tail !== undefined && values.lines !== undefined) throw new UsageError('give --tail or --lines, not both');
  const tailText = values.tail ?? values.lines;
  // --since alone prints every line since then; otherwise the last 100 unless told.
  const tail = tailText === undefined && values.since !== undefined ? undefined : parseTail(values.lines === undefined ? '--tail' : '--lines', tailText);
  const requestId = values['request-id'];
  if (requestId !== undefined) {
    try {
      assertRequestId(requestId);
    } catch (error) {
      throw new UsageError(`--request-id: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  const since = values.since;
  if (since !== undefined) {
    const parsed = parseSince(since, Date.now());
    if ('problem' in parsed) throw new UsageError(`--since: ${parsed.problem}`);
  }
  const first = { ...(tail === undefined ? {} : { tail }), ...(since === undefined ? {} : { since }), ...(requestId === undefined ? {} : { requestId }) };
  const filter = requestId === undefined ? {} : { requestId };

  if (values.local) {
    const dataDir = values.data === undefined ? defaultDataDir() : resolve(values.data);
    const file = logFilePath(join(dataDir, 'logs'), serviceName, functionName);
    const read: ReadPage = ({ since: when, ...rest }) =>
      readLogPage(file, { maxBytes: DEFAULT_PAGE_BYTES, ...rest, ...(when === undefined ? {} : { sinceMs: (parseSince(when, Date.now()) as { ms: number }).ms }) });
    return printPages(read, { first, filter, follow: values.follow, json: values.json, pollMs: LOCAL_POLL_MS, output, signal, missing: `no log for ${serviceName}/${functionName} in ${dataDir} (${file}): not called yet, or another --data directory?` });
  }

  const timeoutMs = parseTimeoutMs(values.timeout, 5000);
  const connection = await connectionOrFailure(values, output, values.json);
  if (connection === undefined) return 1;
  const client = new AdminClient({ ...connection, timeoutMs });
  const target = `${serviceName}/${functionName}`;
  const read: ReadPage = async (args) => (await client.call('logs-read', { function: target, ...args })) as LogPage;
  try {
    return await printPages(read, { first, filter, follow: values.follow, json: values.json, pollMs: REMOTE_POLL_MS, output, signal, missing: `no log for ${target} on the gateway: not called yet?` });
  } finally {
    await client.close();
  }
}

interface PrintOptions {
  first: { tail?: number; since?: string; requestId?: string };
  filter: { requestId?: string };
  follow: boolean;
  json: boolean;
  pollMs: number;
  output: Output;
  signal: AbortSignal | undefined;
  missing: string;
}

/**
 * Page through the log from the first page's start to its end, then, with --follow, poll with
 * the cursor until Ctrl-C (SIGINT/SIGTERM end it cleanly, exit code 0). Exit 1 when a call fails
 * or, without --follow, the function has no log.
 */
async function printPages(read: ReadPage, options: PrintOptions): Promise<number> {
  const { output, json } = options;
  const parser = new LogParser();
  const print = (page: LogPage): void => {
    if (page.gap === true) output.err('edgefc logs: some lines were rotated away before they could be read\n');
    for (const line of page.lines) {
      if (!json) {
        output.out(`${line}\n`);
        continue;
      }
      const { text: _text, ...fields } = parser.parse(line);
      output.out(`${JSON.stringify(fields)}\n`);
    }
  };
  const controller = new AbortController();
  const stop = (): void => controller.abort();
  if (options.follow) {
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    options.signal?.addEventListener('abort', stop, { once: true });
  }
  try {
    let page = await read(options.first);
    if (!page.exists && !options.follow) {
      printFailure(output, new FunctionNotFoundError(options.missing), json);
      return 1;
    }
    print(page);
    for (;;) {
      while (page.more) {
        page = await read({ cursor: page.cursor, ...options.filter });
        print(page);
      }
      if (!options.follow) return 0;
      await sleep(options.pollMs, controller.signal);
      if (controller.signal.aborted) return 0;
      page = await read({ cursor: page.cursor, ...options.filter });
      print(page);
    }
  } catch (error) {
    printFailure(output, error, json);
    return 1;
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    options.signal?.removeEventListener('abort', stop);
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
