/**
 * `edgefc invoke SERVICE/FUNCTION`: one call through FCClient, as a device would make it.
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { FCClient, logResultOf } from 'edgefc';
import type { InvokeParams } from 'edgefc';
import { isValidTracestate, parseTraceparent } from 'edgefc/protocol';
import { UsageError } from '../usage-error.js';
import { connectionOptions, connectionOrFailure, parseTimeoutMs, printFailure, type Output } from './common.js';
import { CONNECTION_USAGE } from '../connection.js';

export const INVOKE_USAGE = `Usage: edgefc invoke SERVICE/FUNCTION [options]

Invoke a function and print its result.

Options:
  --payload TEXT      event to send (default: empty)
  --file F            send the contents of file F as the event (- for stdin)
  --context JSON      invokerContext, as a JSON object; sent base64-encoded
  --async             Async call: print the request ID once the gateway has accepted it
  --delay SECONDS     with --async: run no earlier than this many seconds (0-3600) after
                      acceptance (FC's x-fc-async-delay)
  --qualifier Q       the service version to run: LATEST (default), a version number or an alias
                      (edgefc versions, edgefc aliases; docs/protocol.md §3.2a)
  --log               print the last 4 KiB of the call's log to stderr (FC's X-Fc-Log-Type: Tail)
  --traceparent TP    continue the caller's trace: a W3C traceparent (00-<32 hex>-<16 hex>-<2 hex>),
                      sent as the call's own (docs/protocol.md §3.7; default: a new trace)
  --tracestate TS     the W3C tracestate to send with --traceparent
  --timeout MS        end-to-end budget in milliseconds (default 10000)
  --json              print one JSON object (for scripts)

${CONNECTION_USAGE}
`;

/** `--traceparent` / `--tracestate`, checked here so a malformed one is a usage error (exit 2). */
function traceArguments(traceparent: string | undefined, tracestate: string | undefined): Pick<InvokeParams, 'traceparent' | 'tracestate'> {
  if (traceparent === undefined) {
    if (tracestate !== undefined) throw new UsageError('--tracestate goes with --traceparent');
    return {};
  }
  if (parseTraceparent(traceparent) === undefined) {
    throw new UsageError(`--traceparent must be a W3C traceparent, 00-<32 hex>-<16 hex>-<2 hex> in lowercase, trace and parent IDs not all zeros (got ${JSON.stringify(traceparent)})`);
  }
  if (tracestate !== undefined && !isValidTracestate(tracestate)) throw new UsageError(`--tracestate must be a W3C tracestate, key=value pairs separated by commas (got ${JSON.stringify(tracestate)})`);
  return { traceparent, ...(tracestate === undefined ? {} : { tracestate }) };
}

export function parseTarget(target: string | undefined): { serviceName: string; functionName: string } {
  if (target === undefined) throw new UsageError('which function? give SERVICE/FUNCTION, e.g. EdgeFC/helloworld');
  const parts = target.split('/');
  if (parts.length !== 2 || parts[0] === '' || parts[1] === '') {
    throw new UsageError(`"${target}" is not SERVICE/FUNCTION, e.g. EdgeFC/helloworld`);
  }
  return { serviceName: parts[0] as string, functionName: parts[1] as string };
}

function parseContext(text: string | undefined): Record<string, unknown> | undefined {
  if (text === undefined) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new UsageError(`--context must be a JSON object (got ${text})`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new UsageError('--context must be a JSON object, e.g. {"custom":{"data":"x"}}');
  }
  return value as Record<string, unknown>;
}

async function readEvent(payload: string | undefined, file: string | undefined): Promise<Buffer | string | undefined> {
  if (payload !== undefined && file !== undefined) throw new UsageError('give --payload or --file, not both');
  if (file === undefined) return payload;
  if (file === '-') {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  }
  try {
    return await readFile(file);
  } catch (error) {
    throw new UsageError(`cannot read --file ${file}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** What the parser accepts; also the command table's flags (command-table.ts: help, completion). */
export const INVOKE_OPTIONS = {
  ...connectionOptions,
  payload: { type: 'string' },
  file: { type: 'string' },
  context: { type: 'string' },
  async: { type: 'boolean', default: false },
  log: { type: 'boolean', default: false },
  delay: { type: 'string' },
  qualifier: { type: 'string' },
  traceparent: { type: 'string' },
  tracestate: { type: 'string' },
} as const;

export async function runInvoke(argv: string[], output: Output): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: INVOKE_OPTIONS,
  });
  if (values.help) {
    output.out(INVOKE_USAGE);
    return 0;
  }
  if (positionals.length > 1) throw new UsageError(`unexpected arguments: ${positionals.slice(1).join(' ')}`);
  const target = parseTarget(positionals[0]);
  const timeout = parseTimeoutMs(values.timeout, 10_000);
  const params: InvokeParams = {
    ...target,
    invocationType: values.async ? 'Async' : 'Sync',
    timeout,
  };
  if (values.delay !== undefined) {
    const delay = Number(values.delay);
    if (!values.async) throw new UsageError('--delay is for Async calls: add --async');
    if (values.delay.trim() === '' || !Number.isInteger(delay) || delay < 0 || delay > 3600) {
      throw new UsageError(`--delay must be a whole number of seconds from 0 to 3600 (got "${values.delay}")`);
    }
    params.asyncDelay = delay;
  }
  if (values.qualifier !== undefined) {
    if (!/^[A-Za-z0-9_.-]{1,128}$/.test(values.qualifier)) throw new UsageError(`--qualifier must be LATEST, a version number or an alias name: 1-128 of letters, digits, "_", "-" and "." (got "${values.qualifier}")`);
    params.qualifier = values.qualifier;
  }
  if (values.log) {
    if (values.async) throw new UsageError('--log is for Sync calls: an Async call\'s log is in its record (edgefc invocations get)');
    params.logType = 'Tail';
  }
  const printLog = (log: string | undefined): void => {
    if (log !== undefined && !values.json) output.err(log.endsWith('\n') || log === '' ? log : `${log}\n`);
  };
  Object.assign(params, traceArguments(values.traceparent, values.tracestate));
  const event = await readEvent(values.payload, values.file);
  if (event !== undefined) params.payload = event;
  const invokerContext = parseContext(values.context);
  if (invokerContext !== undefined) params.invokerContext = invokerContext;

  const connection = await connectionOrFailure(values, output, values.json);
  if (connection === undefined) return 1;
  const client = new FCClient({ ...connection, timeout, connectTimeout: Math.min(timeout, 5000) });
  try {
    const result = await client.invokeFunction(params);
    printLog(result.logResult);
    if (values.json) {
      const body: Record<string, unknown> = { requestId: result.requestId, status: values.async ? 'accepted' : 'ok' };
      if (typeof result.payload === 'string') body['payload'] = result.payload;
      else if (result.payload !== undefined) body['payloadBase64'] = result.payload.toString('base64');
      if (result.logResult !== undefined) body['log'] = result.logResult;
      output.out(`${JSON.stringify(body)}\n`);
    } else if (values.async) {
      output.out(`${result.requestId}\n`);
    } else if (typeof result.payload === 'string') {
      output.out(result.payload.endsWith('\n') ? result.payload : `${result.payload}\n`);
    } else if (result.payload !== undefined) {
      if (process.stdout.isTTY) output.err(`(${result.payload.length} bytes of binary data: redirect stdout or use --json)\n`);
      else process.stdout.write(result.payload);
    }
    return 0;
  } catch (error) {
    printLog(logResultOf(error));
    printFailure(output, error, values.json);
    return 1;
  } finally {
    await client.close();
  }
}
