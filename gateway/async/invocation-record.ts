/**
 * An Async invocation's state and record (docs/protocol.md §10.3), as the store keeps it and as
 * `edgefc invocations`, the admin operations and the status topic show it.
 */
import type { WireError } from 'edgefc/errors';
import type { TraceContext } from 'edgefc/protocol';

export const InvocationState = {
  enqueued: 'enqueued',
  running: 'running',
  retrying: 'retrying',
  succeeded: 'succeeded',
  failed: 'failed',
  expired: 'expired',
  cancelled: 'cancelled',
  /** An operator stopped it (§9.6a, FC's StopAsyncTask "Stopped"): waiting, or running, whose run was cut off. */
  stopped: 'stopped',
} as const;
export type InvocationState = (typeof InvocationState)[keyof typeof InvocationState];

export const FINISHED_STATES: readonly InvocationState[] = ['succeeded', 'failed', 'expired', 'cancelled', 'stopped'];
export const UNFINISHED_STATES: readonly InvocationState[] = ['enqueued', 'running', 'retrying'];

export function isInvocationState(value: unknown): value is InvocationState {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(InvocationState, value);
}

/** How the call came in: a device's Async request, a trigger message, or another call's destination. */
export type InvocationSource = 'invoke' | 'trigger' | 'destination';

/** Who made the call, for which function, and how: fixed once the call is accepted. */
export interface InvocationOrigin {
  /** The caller's MQTT client ID; '' for trigger and destination calls. */
  clientId: string;
  requestId: string;
  service: string;
  function: string;
  source: InvocationSource;
  /** The trigger message's topic. */
  topic: string | undefined;
}

/** What the gateway stores before it answers "accepted". */
export interface NewInvocation extends InvocationOrigin {
  event: Buffer;
  invokerContext: Record<string, unknown> | undefined;
  qualifier: string;
  createdAt: number;
  /** The caller's W3C trace context (docs/protocol.md §3.7); absent when it came without one. */
  trace?: TraceContext | undefined;
  /** §3.8: a delayed call runs no earlier than this (epoch ms); stored as its next_attempt_at. */
  notBefore?: number | undefined;
}

/** The whole record; times are epoch ms on the gateway's clock. */
export interface InvocationRecord extends InvocationOrigin {
  seq: number;
  state: InvocationState;
  /** Attempts started so far (the first run is attempt 1). */
  attempts: number;
  createdAt: number;
  updatedAt: number;
  startedAt: number | undefined;
  finishedAt: number | undefined;
  nextAttemptAt: number | undefined;
  /** Duration of the last attempt. */
  durationMs: number | undefined;
  eventBytes: number;
  result: Buffer | undefined;
  resultBinary: boolean;
  error: WireError | undefined;
  /** The last lines the function logged during its last attempt. */
  logTail: string[];
  /** An mqtt:// destination message not yet acknowledged by the broker. */
  destinationPending: string | undefined;
  /** docs/protocol.md §3.7, §10.3. */
  trace?: TraceContext;
  /** §3.2a: the qualifier the caller named (LATEST, a version, an alias), as stored at acceptance. */
  qualifier?: string;
}

/** The JSON shape of a record on the wire and in `--json` output (docs/protocol.md §10.3). */
/** The record of `call` as accepted (`seq` its place in the store), before any attempt. */
export function enqueuedRecord(call: NewInvocation, seq: number): InvocationRecord {
  return {
    seq,
    clientId: call.clientId,
    requestId: call.requestId,
    service: call.service,
    function: call.function,
    source: call.source,
    topic: call.topic,
    qualifier: call.qualifier,
    state: 'enqueued',
    attempts: 0,
    createdAt: call.createdAt,
    updatedAt: call.createdAt,
    startedAt: undefined,
    finishedAt: undefined,
    nextAttemptAt: call.notBefore,
    durationMs: undefined,
    eventBytes: call.event.length,
    result: undefined,
    resultBinary: false,
    error: undefined,
    logTail: [],
    destinationPending: undefined,
    ...(call.trace === undefined ? {} : { trace: call.trace }),
  };
}

export interface RecordView {
  requestId: string;
  clientId: string;
  function: string;
  source: InvocationSource;
  topic?: string;
  /** §3.2a: LATEST, a version number or an alias, as the caller named it. */
  qualifier?: string;
  state: InvocationState | 'unknown';
  attempts?: number;
  createdAt?: string;
  updatedAt?: string;
  startedAt?: string;
  finishedAt?: string;
  nextAttemptAt?: string;
  durationMs?: number;
  eventBytes?: number;
  result?: string;
  resultBase64?: string;
  error?: WireError;
  logTail?: string[];
  /** §10.3: the call's W3C traceparent. */
  traceparent?: string;
  tracestate?: string;
}

const iso = (ms: number | undefined): string | undefined => (ms === undefined ? undefined : new Date(ms).toISOString());

export function toView(record: InvocationRecord, withDetail: boolean): RecordView {
  const view: RecordView = {
    requestId: record.requestId,
    clientId: record.clientId,
    function: `${record.service}/${record.function}`,
    source: record.source,
    state: record.state,
    attempts: record.attempts,
  };
  const set = <K extends keyof RecordView>(k: K, v: RecordView[K] | undefined): void => {
    if (v !== undefined) view[k] = v;
  };
  set('topic', record.topic);
  set('qualifier', record.qualifier);
  set('createdAt', iso(record.createdAt));
  set('updatedAt', iso(record.updatedAt));
  set('startedAt', iso(record.startedAt));
  set('finishedAt', iso(record.finishedAt));
  if (record.state === 'retrying' || record.state === 'enqueued') set('nextAttemptAt', iso(record.nextAttemptAt));
  set('durationMs', record.durationMs);
  set('error', record.error);
  set('traceparent', record.trace?.traceparent);
  set('tracestate', record.trace?.tracestate);
  if (withDetail) {
    view.eventBytes = record.eventBytes;
    if (record.result !== undefined) {
      if (record.resultBinary) view.resultBase64 = record.result.toString('base64');
      else view.result = record.result.toString('utf8');
    }
    if (record.logTail.length > 0) view.logTail = record.logTail;
  }
  return view;
}
