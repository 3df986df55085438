/**
 * An invocation record (§10.3, the same InvocationRecord as the SQLite store's) as a value of the
 * cluster's KV bucket, plus what only the cluster needs: how many deliveries of the call were
 * deferrals (§3.8 `delay`), not attempts, so the retryCount a function sees stays
 * deliveries − deferrals − 1; and, while the call is unfinished, the call itself as the stream
 * keeps it: a second replicated copy that ./lost-call-check.ts publishes again should the stream
 * lose it (docs/cluster.md "Async calls").
 */
import type { WireError } from 'edgefc/errors';
import type { InvocationRecord } from '../invocation-record.js';

export interface RecordEntry {
  record: InvocationRecord;
  /** Deliveries NAKed until the call's `notBefore` (§3.8), not counted as attempts. */
  deferrals: number;
  /** Which gateway's delivery wrote `running` (./jetstream-runner.ts #markRunning tells its own write from another's). */
  runner?: string | undefined;
  /**
   * The stream message of the call (./call-message.ts), kept until the call is finished: what
   * the lost-call check publishes again when the stream no longer holds it. Dropped with the
   * final record, so a finished record costs what it did.
   */
  message?: Uint8Array | undefined;
}

type RecordJson = Omit<InvocationRecord, 'result' | 'error'> & {
  result?: string;
  error?: WireError | undefined;
  deferrals: number;
  runner?: string | undefined;
  /** The call message's JSON text (./call-message.ts writes UTF-8 JSON only). */
  message?: string;
};

export function encodeRecordEntry(entry: RecordEntry): Uint8Array {
  const { result, ...rest } = entry.record;
  const json: RecordJson = {
    ...rest,
    deferrals: entry.deferrals,
    ...(entry.runner === undefined ? {} : { runner: entry.runner }),
    ...(result === undefined ? {} : { result: result.toString('base64') }),
    ...(entry.message === undefined ? {} : { message: Buffer.from(entry.message).toString('utf8') }),
  };
  return Buffer.from(JSON.stringify(json), 'utf8');
}

export function decodeRecordEntry(data: Uint8Array): RecordEntry {
  const { deferrals, runner, result, message, ...rest } = JSON.parse(Buffer.from(data).toString('utf8')) as RecordJson;
  const record: InvocationRecord = {
    ...rest,
    // JSON has no undefined: every optional field back to its TypeScript shape.
    topic: rest.topic ?? undefined,
    startedAt: rest.startedAt ?? undefined,
    finishedAt: rest.finishedAt ?? undefined,
    nextAttemptAt: rest.nextAttemptAt ?? undefined,
    durationMs: rest.durationMs ?? undefined,
    error: rest.error ?? undefined,
    destinationPending: rest.destinationPending ?? undefined,
    result: result === undefined ? undefined : Buffer.from(result, 'base64'),
  };
  return {
    record,
    deferrals,
    ...(runner === undefined ? {} : { runner }),
    ...(message === undefined ? {} : { message: Buffer.from(message, 'utf8') }),
  };
}
