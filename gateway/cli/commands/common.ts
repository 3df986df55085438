/**
 * Options every client-side command shares, and how failures are printed.
 */
import { EdgeFCError, FunctionError } from '../../../src/errors.js';
import { UsageError } from '../usage-error.js';

export const DEFAULT_CLI_BROKER = 'mqtt://127.0.0.1:1883';

export const connectionOptions = {
  broker: { type: 'string', default: DEFAULT_CLI_BROKER },
  username: { type: 'string' },
  password: { type: 'string' },
  timeout: { type: 'string' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

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
