/**
 * `logs-read` (docs/protocol.md §9.13): one page of a function's log for `edgefc logs` on an
 * operator's machine. Operators only and audited, as every admin operation (§9.8).
 */
import { InvalidArgumentError, ServiceUnavailableError } from 'edgefc/errors';
import { assertName, assertRequestId } from 'edgefc/protocol';
import { DEFAULT_PAGE_BYTES, isCursor, MAX_PAGE_BYTES, readLogPage, type LogPage, type LogPageOptions } from '../logging/log-pages.js';
import { parseSince } from '../logging/since.js';
import type { DispatchContext } from './dispatch-context.js';

/** Lines a first page may start back from: more is a download, not a tail. */
export const MAX_TAIL_LINES = 100_000;

export function readLogs(context: DispatchContext, args: Record<string, unknown>): Promise<LogPage> {
  const target = args['function'];
  const parts = typeof target === 'string' ? target.split('/') : [];
  if (parts.length !== 2) throw new InvalidArgumentError('"function" must be "SERVICE/FUNCTION" (§9.13)');
  const [serviceName, functionName] = parts as [string, string];
  assertName('serviceName', serviceName);
  assertName('functionName', functionName);
  const file = context.logs?.fileOf(serviceName, functionName);
  if (file === undefined) throw new ServiceUnavailableError('this gateway keeps no log files (§9.13)');

  const options: LogPageOptions = { maxBytes: DEFAULT_PAGE_BYTES };
  const { cursor, tail, since, requestId, maxBytes } = args;
  if (cursor !== undefined) {
    if (typeof cursor !== 'string' || !isCursor(cursor)) throw new InvalidArgumentError('"cursor" must be a cursor a previous page answered (§9.13)');
    options.cursor = cursor;
  }
  if (tail !== undefined) {
    if (typeof tail !== 'number' || !Number.isInteger(tail) || tail < 0 || tail > MAX_TAIL_LINES) {
      throw new InvalidArgumentError(`"tail" must be a whole number from 0 to ${MAX_TAIL_LINES} (§9.13)`);
    }
    options.tail = tail;
  }
  if (since !== undefined) {
    if (typeof since !== 'string') throw new InvalidArgumentError('"since" must be a string (§9.13)');
    const parsed = parseSince(since, context.now());
    if ('problem' in parsed) throw new InvalidArgumentError(`"since": ${parsed.problem} (§9.13)`);
    options.sinceMs = parsed.ms;
  }
  if (requestId !== undefined) {
    assertRequestId(requestId);
    options.requestId = requestId;
  }
  if (maxBytes !== undefined) {
    if (typeof maxBytes !== 'number' || !Number.isInteger(maxBytes) || maxBytes < 1024 || maxBytes > MAX_PAGE_BYTES) {
      throw new InvalidArgumentError(`"maxBytes" must be a whole number from 1024 to ${MAX_PAGE_BYTES} (§9.13)`);
    }
    options.maxBytes = maxBytes;
  }
  return readLogPage(file, options);
}
