/**
 * `edgefc invocations list|get|cancel|stop`: the running gateway's Async records (docs/protocol.md
 * §9.4–§9.6a), as tables for people or `--json` for scripts.
 */
import { parseArgs } from 'node:util';
import type { RecordView } from '../../async/invocation-record.js';
import { renderTable } from '../table.js';
import { UsageError } from '../usage-error.js';
import { callGateway, connectionOptions, type Output } from './common.js';
import { CONNECTION_USAGE } from '../connection.js';

export const INVOCATIONS_USAGE = `Usage: edgefc invocations <list|get|cancel|stop> [options]

Async invocations the running gateway has stored (newest first).

  edgefc invocations list [--function S/F] [--state STATE] [--limit N]
  edgefc invocations get REQUEST_ID         state, attempts, times, result or error, log tail
  edgefc invocations cancel REQUEST_ID [--client CLIENT_ID]   cancel a call that still waits
  edgefc invocations stop REQUEST_ID [--client CLIENT_ID]     stop a call, running or waiting (its
                                     instance is stopped; the call ends stopped, not retried)

States: enqueued, running, retrying, succeeded, failed, expired, cancelled, stopped.

Options:
  --json              print the gateway's JSON answer

${CONNECTION_USAGE}
`;

/** What the parser accepts; also the command table's flags (command-table.ts: help, completion). */
export const INVOCATIONS_OPTIONS = {
    ...connectionOptions,
    function: { type: 'string' },
    state: { type: 'string' },
    limit: { type: 'string' },
    client: { type: 'string' },
} as const;

export async function runInvocations(argv: string[], output: Output): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: INVOCATIONS_OPTIONS,
  });
  const [action, ...rest] = positionals;
  if (values.help) {
    output.out(INVOCATIONS_USAGE);
    return 0;
  }
  if (action === undefined) throw new UsageError('say list, get or cancel');
  let operation: string;
  let args: Record<string, unknown>;
  if (action === 'list') {
    if (rest.length > 0) throw new UsageError(`unexpected arguments: ${rest.join(' ')}`);
    args = {};
    if (values.function !== undefined) args['function'] = values.function;
    if (values.state !== undefined) args['state'] = values.state;
    if (values.limit !== undefined) {
      const limit = Number(values.limit);
      if (!Number.isInteger(limit) || limit < 1) throw new UsageError(`--limit must be a whole number ≥ 1 (got "${values.limit}")`);
      args['limit'] = limit;
    }
    operation = 'invocations-list';
  } else if (action === 'get' || action === 'cancel' || action === 'stop') {
    if (rest.length !== 1) throw new UsageError(`edgefc invocations ${action} takes one REQUEST_ID`);
    args = { requestId: rest[0] };
    if (action !== 'get' && values.client !== undefined) args['clientId'] = values.client;
    operation = `invocations-${action}`;
  } else {
    throw new UsageError(`unknown action "${action}": list, get, cancel or stop`);
  }

  return callGateway(values, output, {
    operation,
    args,
    defaultTimeoutMs: 5000,
    print: (result) => {
      if (action === 'list') output.out(renderList((result as { invocations: RecordView[] }).invocations));
      else if (action === 'get') output.out((result as { invocations: RecordView[] }).invocations.map(renderOne).join('\n'));
      else output.out(`${action === 'stop' ? 'stopped' : 'cancelled'} ${(result as { invocation: RecordView }).invocation.requestId}\n`);
    },
  });
}

function renderList(rows: RecordView[]): string {
  const table = renderTable(
    ['REQUEST_ID', 'FUNCTION', 'STATE', 'ATTEMPTS', 'CREATED', 'DURATION_MS', 'ERROR'],
    rows.map((r) => [r.requestId, r.function, r.state, r.attempts ?? 0, r.createdAt ?? '', r.durationMs ?? '', r.error?.code ?? '']),
  );
  return `${table}${rows.length} invocation(s)\n`;
}

function renderOne(view: RecordView): string {
  const lines: string[] = [];
  const field = (name: string, value: string | number | undefined): void => {
    if (value !== undefined && value !== '') lines.push(`${`${name}:`.padEnd(14)}${value}`);
  };
  field('requestId', view.requestId);
  field('clientId', view.clientId);
  field('function', view.function);
  field('source', view.topic === undefined ? view.source : `${view.source} (${view.topic})`);
  field('state', view.state);
  field('attempts', view.attempts);
  field('created', view.createdAt);
  field('started', view.startedAt);
  field('finished', view.finishedAt);
  field('next attempt', view.nextAttemptAt);
  field('duration ms', view.durationMs);
  field('event bytes', view.eventBytes);
  field('result', view.result ?? (view.resultBase64 === undefined ? undefined : `(base64) ${view.resultBase64}`));
  if (view.error !== undefined) field('error', `${view.error.code}: ${view.error.message}`);
  if (view.logTail !== undefined) lines.push('log tail:', ...view.logTail.map((l) => `  ${l}`));
  return `${lines.join('\n')}\n`;
}
