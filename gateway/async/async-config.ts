/**
 * A function's effective async settings (template `asyncConfiguration`, docs/protocol.md §10.4),
 * the retry backoff, and the message a destination receives (§10.5).
 */
import { ASYNC_LIMITS } from '../registry/template-schema.js';
import type { AsyncConfigSpec, FunctionSpec } from '../registry/types.js';
import type { InvocationRecord } from './invocation-record.js';

export const DEFAULT_ASYNC_CONFIG: AsyncConfigSpec = Object.freeze({
  maxAsyncRetryAttempts: ASYNC_LIMITS.maxAsyncRetryAttempts.default,
  maxAsyncEventAgeMs: ASYNC_LIMITS.maxAsyncEventAgeInSeconds.default * 1000,
  maxAsyncQueueLength: ASYNC_LIMITS.maxAsyncQueueLength.default,
  onSuccess: undefined,
  onFailure: undefined,
});

export function asyncConfigOf(fn: Pick<FunctionSpec, 'asyncConfiguration'>): AsyncConfigSpec {
  return fn.asyncConfiguration ?? DEFAULT_ASYNC_CONFIG;
}

/**
 * Slots of a function's pool that Async calls may hold at once: all but one, so a Sync call
 * always finds a free slot or waits for at most one Async run (§10.6). With a single slot, Async
 * takes it but never queues behind it, so a Sync call still waits for one run at most.
 */
export function asyncSlots(fn: Pick<FunctionSpec, 'maxInstances' | 'instanceConcurrency'>): number {
  return Math.max(1, fn.maxInstances * fn.instanceConcurrency - 1);
}

export interface BackoffOptions {
  /** Delay before the first retry. @default 1000 */
  baseMs: number;
  /** @default 300_000 (5 min) */
  maxMs: number;
}

/** Exponential: base, 2×base, 4×base … after attempts 1, 2, 3 …, capped. */
export function retryDelayMs(attempts: number, options: BackoffOptions): number {
  return Math.min(options.maxMs, options.baseMs * 2 ** Math.max(0, attempts - 1));
}

/** The JSON a destination receives (§10.5). */
export interface DestinationMessage {
  version: 1;
  requestId: string;
  clientId: string;
  function: string;
  state: string;
  attempts: number;
  createdAt: string;
  finishedAt: string;
  durationMs?: number;
  event?: string;
  eventBase64?: string;
  result?: string;
  resultBase64?: string;
  error?: InvocationRecord['error'];
}

export function destinationMessage(record: InvocationRecord, event: Buffer | undefined): Buffer {
  const message: DestinationMessage = {
    version: 1,
    requestId: record.requestId,
    clientId: record.clientId,
    function: `${record.service}/${record.function}`,
    state: record.state,
    attempts: record.attempts,
    createdAt: new Date(record.createdAt).toISOString(),
    finishedAt: new Date(record.finishedAt ?? record.updatedAt).toISOString(),
  };
  if (record.durationMs !== undefined) message.durationMs = record.durationMs;
  if (event !== undefined) {
    if (isUtf8(event)) message.event = event.toString('utf8');
    else message.eventBase64 = event.toString('base64');
  }
  if (record.result !== undefined) {
    if (record.resultBinary) message.resultBase64 = record.result.toString('base64');
    else message.result = record.result.toString('utf8');
  }
  if (record.error !== undefined) message.error = record.error;
  return Buffer.from(JSON.stringify(message), 'utf8');
}

function isUtf8(bytes: Buffer): boolean {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    return true;
  } catch {
    return false;
  }
}
