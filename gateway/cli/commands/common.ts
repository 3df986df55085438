/**
 * Options every client-side command shares, the admin call they make, and how failures are
 * printed.
 */
import { EdgeFCError, FunctionError } from 'edgefc/errors';
import { AdminClient } from '../admin-client.js';
import { UsageError } from '../usage-error.js';
import { resolveConnection, type Connection, type ConnectionValues } from '../connection.js';

export { connectionOptions, DEFAULT_CLI_BROKER, type ConnectionValues } from '../connection.js';

export function parseTimeoutMs(value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const ms = Number(value);
  if (!Number.isInteger(ms) || ms < 1) throw new UsageError(`--timeout must be a whole number of milliseconds (got "${value}")`);
  return ms;
}

export interface Output {
  out: (text: string) => void;
  err: (text: string) => void;
}

/** Print a failed call: a readable block for people, one JSON object for scripts. */
export function printFailure(output: Output, error: unknown, json: boolean): void {
  const typed = error instanceof EdgeFCError ? error : undefined;
  if (json) {
    const wire = typed?.toWire() ?? { code: 'InternalError', message: error instanceof Error ? error.message : String(error) };
    output.out(`${JSON.stringify({ error: { ...wire, requestId: typed?.requestId } })}\n`);
    return;
  }
  if (typed instanceof FunctionError) {
    output.err(`edgefc: ${typed.code}: ${typed.errorType}: ${typed.errorMessage}\n`);
    for (const line of typed.stackTrace ?? []) output.err(`    ${line}\n`);
  } else if (typed !== undefined) {
    output.err(`edgefc: ${typed.code}: ${typed.message}\n`);
  } else {
    output.err(`edgefc: ${error instanceof Error ? error.message : String(error)}\n`);
  }
  if (typed?.requestId !== undefined) output.err(`requestId: ${typed.requestId}\n`);
}

/**
 * The connection a command should make (connection.ts), or undefined once a failure to find one
 * (an unusable credential file) has been printed. A bad command line still throws UsageError.
 */
export async function connectionOrFailure(values: ConnectionValues, output: Output, json: boolean): Promise<Connection | undefined> {
  try {
    return await resolveConnection(values);
  } catch (error) {
    if (error instanceof UsageError) throw error;
    printFailure(output, error, json);
    return undefined;
  }
}

export interface AdminCall {
  /** The admin operation (docs/protocol.md §9), e.g. `list`. */
  operation: string;
  args?: Record<string, unknown>;
  /** Used when `--timeout` is not given. */
  defaultTimeoutMs: number;
  /** QoS of the request: 0 only for read-only operations that must work without broker storage (AdminClient.call). @default 1 */
  requestQos?: 0 | 1;
  /** Print the answer for people; with `--json` the answer is printed as it came instead. */
  print: (result: unknown) => void;
}

/**
 * Make one admin call to the running gateway and print its answer, or the failure through
 * printFailure. Resolves with the exit code (0 or 1); the connection is closed on every path.
 * A bad `--timeout` throws a UsageError before anything connects.
 */
export async function callGateway(values: ConnectionValues & { timeout?: string | undefined; json: boolean }, output: Output, call: AdminCall): Promise<number> {
  const timeoutMs = parseTimeoutMs(values.timeout, call.defaultTimeoutMs);
  const connection = await connectionOrFailure(values, output, values.json);
  if (connection === undefined) return 1;
  const client = new AdminClient({ ...connection, timeoutMs });
  try {
    const result = await client.call(call.operation, call.args, call.requestQos);
    if (values.json) output.out(`${JSON.stringify(result)}\n`);
    else call.print(result);
    return 0;
  } catch (error) {
    printFailure(output, error, values.json);
    return 1;
  } finally {
    await client.close();
  }
}
