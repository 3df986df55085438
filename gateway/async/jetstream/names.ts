/**
 * Every JetStream name the cluster's durable Async queue uses (docs/cluster.md "Async calls"),
 * in one place for operators, `edgefc broker-config nats` (gateway/security/nats-config.ts) and
 * other parts of the gateway to read.
 *
 * None of these subjects is an edgefc/v1 topic: devices and functions have no permission on
 * any of them, nor on the JetStream and KV APIs behind them (`$JS.>`, `$KV.>`); only the
 * gateway login has (docs/security.md §10).
 */

/** The stream that holds accepted calls until one gateway has run them (work-queue retention). */
export const ASYNC_STREAM = 'EDGEFC_ASYNC';

/** Subjects of accepted calls: `edgefc_async.call.<service>.<function>` (§10.1). */
export const ASYNC_CALL_SUBJECT_PREFIX = 'edgefc_async.call';
export const ASYNC_CALL_SUBJECTS = `${ASYNC_CALL_SUBJECT_PREFIX}.>`;

/** The one durable pull consumer every gateway takes calls from (explicit ack). */
export const ASYNC_CONSUMER = 'edgefc-async-runners';

/** The KV bucket of invocation records (§10.3), read by any gateway for any call. */
export const RECORD_BUCKET = 'edgefc_async_records';

/**
 * Every gateway subscribes here (no queue group): an operator's stop of a running call (§9.6a)
 * reaches the gateway running it, wherever the request was answered.
 */
export const STOP_SUBJECT = 'edgefc_async.control.stop';

/** Everything of the Async queue on plain subjects: the gateway's, nobody else's. */
export const ASYNC_SUBJECTS = 'edgefc_async.>';

/** The stream behind the record bucket (KV buckets are streams named KV_<bucket>). */
export const RECORD_STREAM = `KV_${RECORD_BUCKET}`;

/** Service and function names are `[A-Za-z0-9_-]` (src/protocol/names.ts, §7.1): safe subject tokens. */
export function callSubject(service: string, fn: string): string {
  return `${ASYNC_CALL_SUBJECT_PREFIX}.${service}.${fn}`;
}

const token = (value: string): string => Buffer.from(value, 'utf8').toString('base64url');

/**
 * A call's record key: client and request ID, each base64url (KV keys allow `[-/_=.A-Za-z0-9]`,
 * a client ID may hold anything MQTT allows). `c`/`r` prefixes keep a token from being empty
 * (trigger and destination calls have no client).
 */
export function recordKey(clientId: string, requestId: string): string {
  return `c${token(clientId)}.r${token(requestId)}`;
}

/** Every client's record of one request ID (§9.5). */
export function recordKeysOf(requestId: string): string {
  return `*.r${token(requestId)}`;
}

/**
 * The stream's message ID (Nats-Msg-Id) of a call: the same for a re-send of the same
 * (client, request ID), so the stream's duplicate window answers it as a duplicate (§10.2).
 */
export function callMessageId(clientId: string, requestId: string): string {
  return recordKey(clientId, requestId);
}
