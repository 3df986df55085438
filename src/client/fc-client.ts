/**
 * FCClient: invoke edgefc functions over MQTT from a device or from inside a hosted function.
 *
 * One MQTT connection and one reply subscription per client (docs/protocol.md §2.3); every call is
 * an entry in the pending table, correlated by request ID (§4.1), with its own timer.
 */
import {
  ClientClosedError,
  InvalidArgumentError,
  RequestTimeoutError,
  ServiceUnavailableError,
} from '../errors.js';
import { decodeInvokerContext, encodeInvokerContext } from '../protocol/invoker-context.js';
import { assertClientId, assertName, assertRequestId } from '../protocol/names.js';
import { ReplyStatus, type Reply } from '../protocol/reply.js';
import {
  assertPayloadSize,
  assertTimeout,
  assertAsyncDelay,
  assertQualifier,
  encodeRequest,
  InvocationType,
  LogType,
  isInvocationType,
  type RequestHeader,
} from '../protocol/request.js';
import { encodeFrame } from '../protocol/envelope.js';
import { ambientTraceContext, newTraceContext, readTraceContext, type TraceContext } from '../protocol/trace-context.js';
import { invokeTopic, statusTopic } from '../protocol/topics.js';
import { callbackify, type NodeCallback } from './callbackify.js';
import { OfflineQueue } from './offline-queue.js';
import { resolveClientOptions, type FCClientOptions, type ResolvedClientOptions } from './options.js';
import { errorMessage, RequestChannel } from './request-channel.js';

export interface InvokeParams {
  serviceName: string;
  functionName: string;
  /** @default 'Sync' */
  invocationType?: InvocationType;
  /** Base64 of a JSON object (docs/protocol.md §5), or the object itself, which is encoded for you. */
  invokerContext?: string | Record<string, unknown>;
  payload?: string | Buffer;
  /** Milliseconds this call may take end to end. @default the client's `timeout` */
  timeout?: number;
  signal?: AbortSignal;
  /**
   * Bring your own request ID (1–64 of `[A-Za-z0-9_-]`), e.g. to retry a call under the same ID.
   * @default a fresh nanoid
   */
  requestId?: string;
  /**
   * FC's X-Fc-Log-Type: `'Tail'` returns the last 4 KiB of the call's log (its frame lines and
   * what it wrote) in `logResult`, also on the error of a failed call (docs/protocol.md §3.6).
   * Sync calls only.
   * @default 'None'
   */
  logType?: LogType;
  /**
   * W3C traceparent to send with the call (docs/protocol.md §3.7), e.g. your own span's. A
   * malformed one is refused here.
   * @default inside a function, the running call's trace continued; elsewhere a new trace
   * @example '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'
   */
  traceparent?: string;
  /** W3C tracestate, sent with `traceparent` only. */
  tracestate?: string;
  /**
   * Async calls: seconds (0–3600) after acceptance before the call may run, as FC's
   * `x-fc-async-delay` header (docs/protocol.md §3.8). The delay counts against the function's
   * maxAsyncEventAgeInSeconds.
   * @default 0
   * @example 200
   */
  asyncDelay?: number;
  /**
   * Which version of the service to run, as FC's SDKs' `qualifier`: `LATEST`, a published
   * version number or an alias (docs/protocol.md §3.2a). One that names nothing is refused by
   * the gateway with FunctionNotFound.
   * @default 'LATEST'
   * @example 'prod'
   */
  qualifier?: string;
}

/**
 * What a call resolves with, whatever its invocation type: the generic form of
 * `SyncInvokeResult` and `AsyncInvokeResult`, for a caller whose `invocationType` is not a literal.
 */
export interface InvokeResult {
  requestId: string;
  /** Sync only: the function's result, a string for text results or a Buffer for binary ones. */
  payload?: string | Buffer;
  /** With `logType: 'Tail'`: the last 4 KiB of the call's log, as text (FC's X-Fc-Log-Result, decoded). */
  logResult?: string;
}

/** A Sync call's outcome: the function's result. */
export interface SyncInvokeResult extends InvokeResult {
  /** A string for text results, a Buffer for binary ones (docs/protocol.md §6). */
  payload: string | Buffer;
}

/** An Async call's outcome: the gateway accepted (and committed) the call under this request ID. */
export interface AsyncInvokeResult {
  requestId: string;
}

/** A Sync call's parameters: `invocationType` left out or `'Sync'`. */
export type SyncInvokeParams = InvokeParams & { invocationType?: typeof InvocationType.Sync };
/** An Async call's parameters: `invocationType: 'Async'`. */
export type AsyncInvokeParams = InvokeParams & { invocationType: typeof InvocationType.Async };

/**
 * The log tail a failed call with `logType: 'Tail'` brought back (its error carries it as
 * `logResult`); undefined otherwise.
 */
export function logResultOf(error: unknown): string | undefined {
  const value = typeof error === 'object' && error !== null ? (error as { logResult?: unknown }).logResult : undefined;
  return typeof value === 'string' ? value : undefined;
}

/**
 * LinkEdge's callback: `err` is null on success, otherwise an `EdgeFCError` whose `code` is one of
 * `ErrorCode` (so `err.code` type-checks); `data` is the call's result.
 */
export type InvokeCallback<T extends InvokeResult | AsyncInvokeResult = InvokeResult> = NodeCallback<T>;

/** Sends of a replayed offline call before its RequestTimeout is reported (see #replay). */
const REPLAY_ATTEMPTS = 3;

/** What `getAsyncStatus` answers (docs/protocol.md §10.3, §10.7); `state` 'unknown' when the gateway has no record. */
export interface AsyncStatus {
  requestId: string;
  state: 'enqueued' | 'running' | 'retrying' | 'succeeded' | 'failed' | 'expired' | 'cancelled' | 'stopped' | 'unknown';
  function: string;
  attempts?: number;
  createdAt?: string;
  finishedAt?: string;
  durationMs?: number;
  /** A text result; a binary one comes as `resultBase64`. */
  result?: string;
  resultBase64?: string;
  error?: { code: string; message: string };
  [field: string]: unknown;
}

export class FCClient {
  readonly clientId: string;
  /** The `{clientId}` level of this client's topics: its username when it logs in, else its client ID. */
  readonly address: string;
  readonly #options: ResolvedClientOptions;
  readonly #channel: RequestChannel;
  readonly #offline: OfflineQueue<InvokeResult>;

  constructor(options: FCClientOptions = {}) {
    this.#options = resolveClientOptions(options);
    assertClientId(this.#options.clientId);
    this.clientId = this.#options.clientId;
    assertClientId(this.#options.address);
    this.address = this.#options.address;
    this.#channel = new RequestChannel(this.#options);
    this.#offline = new OfflineQueue(this.#options.offlineQueueSize);
    this.#channel.onReconnect(() => this.#offline.flush());
  }

  /** Calls waiting for a reply; 0 when the client is idle. */
  get pendingCount(): number {
    return this.#channel.pendingCount;
  }

  /** Async calls kept while the connection is down (§10.8). */
  get offlineCount(): number {
    return this.#offline.size;
  }

  /**
   * Ask the gateway for the state of one of this client's Async calls (docs/protocol.md §10.7).
   *
   * @example
   * const { requestId } = await fc.invokeFunction({ serviceName: 'S', functionName: 'F', invocationType: 'Async' });
   * const { state } = await fc.getAsyncStatus(requestId); // 'enqueued', 'running', 'succeeded', …
   */
  async getAsyncStatus(requestId: string, options: { timeout?: number; signal?: AbortSignal } = {}): Promise<AsyncStatus> {
    const timeoutError = new RequestTimeoutError('no status reply from the gateway before the deadline');
    assertRequestId(requestId);
    const timeoutMs = options.timeout ?? this.#options.timeout;
    assertTimeout(timeoutMs);
    const queryId = this.#options.generateRequestId();
    const reply = await this.#channel.request({
      requestId: queryId,
      deadline: Date.now() + timeoutMs,
      signal: options.signal,
      timeoutError,
      topic: statusTopic(this.address),
      frame: (remaining) => encodeFrame({ id: queryId, type: InvocationType.Sync, timeout: remaining }, Buffer.from(JSON.stringify({ requestId }))),
      resendOnReconnect: true, // a status query changes nothing
    });
    const { payload } = toResult(reply);
    return JSON.parse(String(payload)) as AsyncStatus;
  }

  /**
   * Connect and subscribe to this client's reply topic. Optional: the first call connects.
   * Resolves once the subscription is acknowledged (docs/protocol.md §1.4).
   */
  async connect(): Promise<void> {
    await this.#channel.ready();
  }

  /**
   * Invoke a function. Without a callback it returns a promise; with one, it calls
   * `callback(err, data)` (LinkEdge's contract) and returns undefined. Sync calls resolve with
   * the result; Async calls resolve with the request ID once the gateway has accepted the call.
   * The overloads say which: `invocationType: 'Async'` gives an `AsyncInvokeResult` (no payload),
   * Sync (the default) a `SyncInvokeResult`.
   *
   * @example
   * const { payload } = await client.invokeFunction({ serviceName: 'EdgeFC', functionName: 'helloworld' });
   */
  invokeFunction(params: SyncInvokeParams): Promise<SyncInvokeResult>;
  invokeFunction(params: AsyncInvokeParams): Promise<AsyncInvokeResult>;
  invokeFunction(params: InvokeParams): Promise<InvokeResult>;
  invokeFunction(params: SyncInvokeParams, callback: InvokeCallback<SyncInvokeResult>): void;
  invokeFunction(params: AsyncInvokeParams, callback: InvokeCallback<AsyncInvokeResult>): void;
  invokeFunction(params: InvokeParams, callback: InvokeCallback): void;
  invokeFunction(
    params: InvokeParams,
    callback?: InvokeCallback | InvokeCallback<SyncInvokeResult> | InvokeCallback<AsyncInvokeResult>,
  ): Promise<InvokeResult> | void {
    if (callback !== undefined && typeof callback !== 'function') {
      throw new InvalidArgumentError('callback must be a function');
    }
    if (callback === undefined) return this.#invoke(params);
    // A callback's caller is not on any async stack: its timeout error is made here, at the call
    // site, so the stack names it (STYLE §10). Awaiting callers get theirs in #invoke, cheaper.
    const promise = this.#invoke(params, new RequestTimeoutError('no reply from the gateway before the deadline'));
    // The overloads pair each callback with its invocation type, and #invoke resolves with the
    // shape of that type (toResult), so this widening is what happens at run time.
    callbackify(promise, callback as InvokeCallback);
  }

  /** Publish a one-way message (QoS 1). Resolves when the broker has acknowledged it. */
  async publish(topic: string, payload: string | Buffer): Promise<void> {
    // MQTT forbids wildcards in a PUBLISH topic and U+0000 anywhere in one [MQTT-4.7.3-2].
    if (typeof topic !== 'string' || topic.length === 0 || /[+#]/.test(topic) || topic.includes('\u0000')) {
      throw new InvalidArgumentError(`topic ${JSON.stringify(topic)} must be a non-empty topic name without wildcards`);
    }
    const bytes = toPayloadBuffer(payload);
    const mqtt = await this.#channel.ready();
    try {
      await mqtt.publishAsync(topic, bytes, { qos: 1 });
    } catch (cause) {
      throw new ServiceUnavailableError(`publish to ${topic} failed: ${errorMessage(cause)}`, { cause });
    }
  }

  /** Close the connection. Every pending call fails with ClientClosed. Idempotent. */
  close(): Promise<void> {
    this.#offline.rejectAll(() => new ClientClosedError());
    return this.#channel.close();
  }

  async #invoke(params: InvokeParams, callSiteTimeout?: RequestTimeoutError): Promise<InvokeResult> {
    const request = this.#prepare(params);
    try {
      // §10.8: an Async call made while the connection is down waits for it, in a bounded queue.
      if (request.invocationType === InvocationType.Async && this.#offline.enabled && this.#channel.offline) {
        return await this.#offline.add(request.requestId, params.signal, () => this.#replay(request, params.signal));
      }
      return await this.#send(request, params.signal);
    } catch (error) {
      // Made here, after the await, so its stack names the caller that awaits this call (V8's
      // async stack trace: "at async <caller>", STYLE §10), and only when a call times out: one
      // made at the call site for every call, in case, cost ~7 µs of stack capture per call
      // (~15 % of this client's CPU per Async call, BENCHMARKS.md). A callback caller's error was
      // made at its call site (invokeFunction); one using `.then` sees this method only.
      if (!(error instanceof RequestTimeoutError)) throw error;
      if (callSiteTimeout === undefined) throw new RequestTimeoutError(error.message, { cause: error });
      callSiteTimeout.message = error.message;
      callSiteTimeout.cause = error;
      throw callSiteTimeout;
    }
  }

  /**
   * Send a call kept while offline. Right after a reconnect the gateway may not have renewed its
   * own subscription yet, and a request reaching the broker before it is lost; the same request
   * ID is sent again on a timeout, which the gateway's dedupe makes safe (§10.2, §10.8).
   */
  async #replay(request: PreparedRequest, signal: AbortSignal | undefined): Promise<InvokeResult> {
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await this.#send(request, signal);
      } catch (error) {
        if (!(error instanceof RequestTimeoutError) || attempt >= REPLAY_ATTEMPTS) throw error;
      }
    }
  }

  async #send(request: PreparedRequest, signal: AbortSignal | undefined): Promise<InvokeResult> {
    const reply = await this.#channel.request({
      requestId: request.requestId,
      deadline: Date.now() + request.timeoutMs,
      signal,
      topic: invokeTopic(this.address, request.serviceName, request.functionName),
      frame: (remaining) => {
        const header: RequestHeader = { id: request.requestId, type: request.invocationType, timeout: remaining };
        if (request.invokerContext !== undefined) header.ctx = request.invokerContext;
        if (request.logType === LogType.Tail) header.log = LogType.Tail;
        if (request.asyncDelay !== undefined) header.delay = request.asyncDelay;
        if (request.qualifier !== undefined) header.qualifier = request.qualifier;
        if (request.trace !== undefined) {
          header.traceparent = request.trace.traceparent;
          if (request.trace.tracestate !== undefined) header.tracestate = request.trace.tracestate;
        }
        return encodeRequest(header, request.payload);
      },
      // The gateway dedupes invocations by (client ID, request ID): a repeat joins the running
      // call or gets its stored outcome (docs/protocol.md §10.2), so repeating one is safe.
      resendOnReconnect: true,
      qos: request.invocationType === InvocationType.Sync ? this.#options.syncRequestQos : 1,
    });
    return toResult(reply);
  }

  #prepare(params: InvokeParams): PreparedRequest {
    if (typeof params !== 'object' || params === null) {
      throw new InvalidArgumentError('invokeFunction needs a params object');
    }
    if (this.#channel.closed) throw new ClientClosedError();
    assertName('serviceName', params.serviceName);
    assertName('functionName', params.functionName);
    const invocationType = params.invocationType ?? InvocationType.Sync;
    if (!isInvocationType(invocationType)) {
      throw new InvalidArgumentError(`invocationType must be "Sync" or "Async" (got ${JSON.stringify(invocationType)})`);
    }
    const timeoutMs = params.timeout ?? this.#options.timeout;
    assertTimeout(timeoutMs);
    const requestId = params.requestId ?? this.#options.generateRequestId();
    assertRequestId(requestId);
    const payload = toPayloadBuffer(params.payload);
    assertPayloadSize(invocationType, payload.length);
    const logType = params.logType ?? LogType.None;
    if (logType !== LogType.None && logType !== LogType.Tail) {
      throw new InvalidArgumentError(`logType must be "None" or "Tail" (got ${JSON.stringify(logType)})`);
    }
    if (logType === LogType.Tail && invocationType !== InvocationType.Sync) {
      throw new InvalidArgumentError('logType "Tail" is for Sync calls: an Async call\'s log is in its record (§3.6)');
    }
    if (params.asyncDelay !== undefined) assertAsyncDelay(params.asyncDelay, invocationType);
    if (params.qualifier !== undefined) assertQualifier(params.qualifier);
    return {
      ...(params.qualifier === undefined ? {} : { qualifier: params.qualifier }),
      logType,
      ...(params.asyncDelay === undefined ? {} : { asyncDelay: params.asyncDelay }),
      trace: traceOf(params, this.#options.traceContext),
      serviceName: params.serviceName,
      functionName: params.functionName,
      invocationType,
      timeoutMs,
      requestId,
      payload,
      invokerContext: normalizeInvokerContext(params.invokerContext),
    };
  }
}

interface PreparedRequest {
  serviceName: string;
  functionName: string;
  invocationType: InvocationType;
  timeoutMs: number;
  requestId: string;
  payload: Buffer;
  invokerContext: string | undefined;
  logType: LogType;
  /** §3.8: seconds before the Async call may run. */
  asyncDelay?: number;
  /** §3.2a */
  qualifier?: string;
  /** §3.7: fixed when the call is made, so a repeat (§4.4) carries the same context. */
  trace: TraceContext | undefined;
}

/**
 * §3.7.3: the caller's own context; else, inside a function, the running call's context passed
 * on as it is (§3.7.4); else a new trace per top-level call.
 */
function traceOf(params: InvokeParams, automatic: boolean): TraceContext | undefined {
  if (params.traceparent !== undefined) {
    const given = readTraceContext(params.traceparent, params.tracestate);
    if (given === undefined) {
      throw new InvalidArgumentError(`traceparent must be a W3C traceparent, version-traceid-parentid-flags in lowercase hex (got ${JSON.stringify(params.traceparent)}) (§3.7)`);
    }
    return given;
  }
  if (!automatic) return undefined;
  const ambient = ambientTraceContext();
  return ambient ?? newTraceContext();
}

function toResult(reply: Reply): InvokeResult {
  switch (reply.status) {
    case ReplyStatus.ok:
      return {
        requestId: reply.requestId,
        payload: reply.binary ? reply.payload : reply.payload.toString('utf8'),
        ...(reply.logResult === undefined ? {} : { logResult: reply.logResult }),
      };
    case ReplyStatus.accepted:
      return { requestId: reply.requestId };
    case ReplyStatus.error:
      // The tail rides on the error, where a failed call's caller looks (logResultOf).
      throw reply.logResult === undefined ? reply.error : Object.assign(reply.error, { logResult: reply.logResult });
  }
}

function toPayloadBuffer(payload: unknown): Buffer {
  if (payload === undefined || payload === null) return Buffer.alloc(0);
  if (typeof payload === 'string') return Buffer.from(payload, 'utf8');
  if (Buffer.isBuffer(payload)) return payload;
  if (payload instanceof Uint8Array) return Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
  throw new InvalidArgumentError(`payload must be a string or a Buffer (got ${typeof payload})`);
}

function normalizeInvokerContext(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') {
    decodeInvokerContext(value); // refuse early what the gateway would refuse (§5)
    return value;
  }
  if (typeof value === 'object' && !Array.isArray(value)) {
    const encoded = encodeInvokerContext(value as Record<string, unknown>);
    decodeInvokerContext(encoded); // size cap (§5.2)
    return encoded;
  }
  throw new InvalidArgumentError('invokerContext must be a base64 string or a plain object (§5)');
}
