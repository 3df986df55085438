/**
 * The cluster's AsyncQueue (../async-queue.ts; docs/cluster.md "Async calls"): calls kept in a
 * replicated JetStream stream, records in a replicated KV bucket, run by whichever gateway pulls
 * them (./jetstream-runner.ts). Loaded only in NATS mode (nats.js' JetStream and KV modules).
 *
 * docs/protocol.md §10.10 lists how this differs from one box.
 *
 * §10.1 "accepted": only once this gateway's own publish to the stream is acknowledged, which an
 * R3 stream does once a majority of its nodes has the call. A device's PUBACK from nats-server's
 * MQTT listener does not mean that (2,021 of 3,000 lost with the stream leader killed, FACTS.md).
 *
 * §10.2 duplicates: the message ID is derived from (client, request ID): within the stream's
 * duplicate window the publish itself says "duplicate"; after it, the record bucket does (the
 * record is created with `create`, which fails when the key exists, and the runner skips a
 * copy whose record says the call is done or running elsewhere).
 *
 * Lost calls: the record keeps a copy of an unfinished call, which ./lost-call-check.ts
 * publishes again should the stream lose it.
 */
import type { JetStreamClient } from '@nats-io/jetstream';
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { InvalidArgumentError, ServiceUnavailableError } from 'edgefc/errors';
import type { FunctionHost } from '../../function-host.js';
import type { Logger } from '../../logging/logger.js';
import type { Registry } from '../../registry/registry.js';
import type { FunctionSpec, ServiceSpec } from '../../registry/types.js';
import type { Versions } from '../../versions/versions.js';
import type { AcceptInput, AsyncQueue, DestinationPublisher, ListFilter, UnfinishedCall } from '../async-queue.js';
import type { AsyncMetrics } from '../async-service.js';
import { asyncConfigOf } from '../async-config.js';
import { newInvocation, queueFullError, requestIdReusedError } from '../accept-call.js';
import { defaultReplicas } from '../../cluster/cluster-buckets.js';
import { enqueuedRecord, FINISHED_STATES, UNFINISHED_STATES, type InvocationRecord, type NewInvocation } from '../invocation-record.js';
import { decodeCallMessage, encodeCallMessage } from './call-message.js';
import { DEFAULT_JETSTREAM_SETTINGS, setUpJetStreamQueue, type JetStreamQueueHandles, type JetStreamQueueSettings } from './jetstream-setup.js';
import { JetStreamRunner } from './jetstream-runner.js';
import { LostCallCheck } from './lost-call-check.js';
import { QueueLengths } from './queue-lengths.js';
import { callMessageId, callSubject, recordKey, STOP_SUBJECT } from './names.js';
import type { RecordBucket } from './record-bucket.js';

export interface JetStreamQueueOptions {
  registry: Registry;
  versions?: Versions;
  host: FunctionHost;
  logger: Logger;
  /** @default Date.now */
  now?: () => number;
  /** @default { baseMs: 1000, maxMs: 300_000 } */
  backoff?: { baseMs?: number; maxMs?: number };
  settings?: Partial<JetStreamQueueSettings>;
  metrics?: AsyncMetrics;
}

/** How long a stop of a call running on another gateway waits for its record to say `stopped`. */
const STOP_WAIT_MS = 10_000;

export class JetStreamQueue implements AsyncQueue {
  readonly #o: JetStreamQueueOptions;
  #settings: JetStreamQueueSettings;
  readonly #now: () => number;
  #handles: JetStreamQueueHandles | undefined;
  #runner: JetStreamRunner | undefined;
  #lostCallCheck: LostCallCheck | undefined;
  #lengths: QueueLengths | undefined;
  #nc: NatsConnection | undefined;
  #stopSubscription: Subscription | undefined;
  #closing = false;

  constructor(options: JetStreamQueueOptions) {
    this.#o = options;
    this.#settings = { ...DEFAULT_JETSTREAM_SETTINGS, ...options.settings };
    this.#now = options.now ?? Date.now;
  }

  /** Create (or update) the stream, consumer and bucket on the gateway's connection; before start(). */
  async connect(nc: NatsConnection): Promise<void> {
    // Unless told, as many copies as the cluster's other state: R3 in a cluster, R1 on one node.
    if (this.#o.settings?.replicas === undefined) this.#settings = { ...this.#settings, replicas: defaultReplicas(nc) };
    this.#handles = await setUpJetStreamQueue(nc, this.#settings);
    this.#nc = nc;
    this.#lengths = new QueueLengths(this.#handles.jsm, this.#o.logger, this.#now);
    await this.#lengths.start();
  }

  get isOpen(): boolean {
    return !this.#closing && this.#handles !== undefined;
  }

  start(publish: DestinationPublisher): void {
    const { js, jsm, consumer, records } = this.#ready();
    this.#runner = new JetStreamRunner({
      consumer,
      records,
      registry: this.#o.registry,
      versions: this.#o.versions,
      host: this.#o.host,
      logger: this.#o.logger,
      now: this.#now,
      backoff: { baseMs: this.#o.backoff?.baseMs ?? 1000, maxMs: this.#o.backoff?.maxMs ?? 300_000 },
      ackWaitMs: this.#settings.ackWaitMs,
      metrics: this.#o.metrics,
      publish,
      acceptDestination: async (call) => void (await this.#keep(call)),
    });
    this.#runner.start();
    const check = new LostCallCheck({
      js,
      jsm,
      records,
      registry: this.#o.registry,
      logger: this.#o.logger,
      now: this.#now,
      intervalMs: this.#settings.lostCallCheckMs,
      ackWaitMs: this.#settings.ackWaitMs,
      ...(this.#o.metrics === undefined ? {} : { republished: (fn: string) => this.#o.metrics?.asyncRepublished(fn) }),
    });
    this.#lostCallCheck = check;
    check.start();
    void this.#checkAfterReconnects(check);
    // Not in the queue group: a stop reaches every gateway, and the one running the call stops it (§9.6a).
    const runner = this.#runner;
    this.#stopSubscription = this.#nc?.subscribe(STOP_SUBJECT, {
      callback: (error, msg) => {
        if (error === null) void runner.stopRunning(msg.string());
      },
    });
  }

  accept(service: Readonly<ServiceSpec>, fn: Readonly<FunctionSpec>, input: AcceptInput): Promise<{ duplicate: boolean }> {
    if (this.#closing) throw new ServiceUnavailableError('the gateway is shutting down', { requestId: input.requestId });
    const config = asyncConfigOf(fn);
    const call = newInvocation({ service: service.name, function: fn.name, maxAsyncEventAgeMs: config.maxAsyncEventAgeMs }, input, this.#now());
    const waiting = this.#lengths?.count(service.name, fn.name) ?? 0;
    if (waiting >= config.maxAsyncQueueLength) return this.#keepOverLimit(call, waiting, config.maxAsyncQueueLength);
    return this.#keepCounted(call);
  }

  async #keepCounted(call: NewInvocation): Promise<{ duplicate: boolean }> {
    const kept = await this.#keep(call);
    if (!kept.duplicate) this.#lengths?.accepted(call.service, call.function);
    return kept;
  }

  /**
   * §10.6: the function's queue is full (queue-lengths.ts: as far as this gateway knows). A call
   * already accepted (a retry, §10.2) is accepted again; only full queues pay for that read.
   */
  async #keepOverLimit(call: NewInvocation, waiting: number, limit: number): Promise<{ duplicate: boolean }> {
    const known = await this.#ready().records.get(recordKey(call.clientId, call.requestId)).catch(() => undefined);
    if (known !== undefined) return this.#keep(call);
    throw queueFullError(`${call.service}/${call.function}`, waiting, limit, call.requestId);
  }

  /**
   * Publish to the stream (the acknowledgement is "accepted"), then create the record, which
   * keeps a second copy of the call until it is finished (./lost-call-check.ts).
   */
  async #keep(call: NewInvocation): Promise<{ duplicate: boolean }> {
    const { js, records } = this.#ready();
    const key = recordKey(call.clientId, call.requestId);
    const message = encodeCallMessage(call);
    const ack = await publishCall(js, call, message, this.#settings);
    // After the window the stream takes a re-send as new: a record with this key is then the
    // earlier call, which ran or runs (§10.2); the runner skips the copy just stored once the
    // record says the call is done (or running elsewhere).
    const created = ack.duplicate
      ? undefined
      : await records.create(key, { record: enqueuedRecord(call, ack.seq), deferrals: 0, message }).catch((error: unknown) => {
          // The call is in the stream: the runner writes its record. Accepted all the same.
          this.#o.logger.warn('Async record not written at acceptance; the run writes it', { requestId: call.requestId, error: String(error) });
          return 0;
        });
    if (created !== undefined) return { duplicate: false };
    // §10.2: a duplicate must be the same call; only duplicates pay for this read. The event is
    // compared while the record keeps the call (until it is finished), the function always.
    const stored = await records.get(key).catch(() => undefined);
    if (stored === undefined) return { duplicate: true };
    const sameFunction = stored.record.service === call.service && stored.record.function === call.function;
    const storedEvent = stored.message === undefined ? undefined : eventOf(stored.message);
    if (sameFunction && (storedEvent === undefined || storedEvent.equals(call.event))) return { duplicate: true };
    throw requestIdReusedError(call, stored.record, sameFunction);
  }

  async status(clientId: string, requestId: string): Promise<InvocationRecord | undefined> {
    return (await this.#ready().records.get(recordKey(clientId, requestId)))?.record;
  }

  get(requestId: string): Promise<InvocationRecord[]> {
    return this.#ready().records.findByRequestId(requestId);
  }

  list(filter: ListFilter): Promise<InvocationRecord[]> {
    return this.#ready().records.list(filter);
  }

  /** §9.6: a compare-and-set on the record; the runner skips a call whose record is finished. */
  async cancel(requestId: string, clientId?: string): Promise<InvocationRecord> {
    return this.#endWaiting(requestId, clientId, 'cancelled');
  }

  /**
   * §9.6a: a waiting call ends `stopped` as a cancel does; a running one is stopped by the
   * gateway running it (the stop subject, which every gateway takes), and this resolves once its
   * record says so (ServiceUnavailable after STOP_WAIT_MS: the record shows what happened).
   */
  async stop(requestId: string, clientId?: string): Promise<InvocationRecord> {
    try {
      return await this.#endWaiting(requestId, clientId, 'stopped');
    } catch (error) {
      if (!(error instanceof RunningError)) throw error;
      const { key } = error;
      this.#ready();
      this.#nc?.publish(STOP_SUBJECT, key);
      const records = this.#ready().records;
      const deadline = this.#now() + STOP_WAIT_MS;
      for (;;) {
        // A poll of one key: the run ends in the function's own time (its instance is stopped).
        await new Promise((resolve) => setTimeout(resolve, 100));
        const stored = await records.get(key);
        if (stored !== undefined && FINISHED_STATES.includes(stored.record.state)) return stored.record;
        if (this.#now() > deadline) throw new ServiceUnavailableError(`${requestId} was asked to stop, but its record did not say so within ${STOP_WAIT_MS / 1000} s`);
      }
    }
  }

  async #endWaiting(requestId: string, clientId: string | undefined, state: 'cancelled' | 'stopped'): Promise<InvocationRecord> {
    const { records } = this.#ready();
    for (let tries = 0; tries < 5; tries++) {
      const found = await this.#findOne(records, requestId, clientId);
      const { record } = found;
      if (record.state === 'running') {
        if (state === 'stopped') throw new RunningError(found.key);
        throw new InvalidArgumentError(`${requestId} is running; only a waiting call can be cancelled (invocations-stop stops a running one)`);
      }
      if (!UNFINISHED_STATES.includes(record.state)) {
        throw new InvalidArgumentError(`${requestId} is ${record.state}; only a waiting (enqueued or retrying) call can be ${state}`);
      }
      const now = this.#now();
      const ended: InvocationRecord = { ...record, state, finishedAt: now, updatedAt: now, nextAttemptAt: undefined };
      if ((await records.update(found.key, { record: ended, deferrals: found.deferrals }, found.revision)) !== undefined) return ended;
      // Changed meanwhile (a run started, or a retry was recorded): look again.
    }
    throw new ServiceUnavailableError(`${requestId} changed under every attempt to ${state === 'cancelled' ? 'cancel' : 'stop'} it; try again`);
  }

  async #findOne(records: RecordBucket, requestId: string, clientId: string | undefined): Promise<{ key: string; record: InvocationRecord; revision: number; deferrals: number }> {
    const all = (await records.findByRequestId(requestId)).filter((r) => clientId === undefined || r.clientId === clientId);
    const first = all[0];
    if (first === undefined) throw new InvalidArgumentError(`no Async invocation with request ID ${requestId}`);
    if (all.length > 1) throw new InvalidArgumentError(`request ID ${requestId} names calls of ${all.length} clients; give the client ID too`);
    const key = recordKey(first.clientId, requestId);
    const stored = await records.get(key);
    if (stored === undefined) throw new InvalidArgumentError(`no Async invocation with request ID ${requestId}`);
    return { key, record: stored.record, revision: stored.revision, deferrals: stored.deferrals };
  }

  /** A node lost may have taken calls with it: look soon after this gateway's connection is back. */
  async #checkAfterReconnects(check: LostCallCheck): Promise<void> {
    if (this.#nc === undefined) return;
    try {
      for await (const status of this.#nc.status()) {
        if (this.#closing) return;
        if (status.type === 'reconnect') check.soon();
      }
    } catch {
      // The connection closed: so does this watch.
    }
  }

  unfinished(): readonly UnfinishedCall[] {
    return this.#runner?.unfinished() ?? [];
  }

  stopDispatch(): void {
    this.#closing = true;
    this.#stopSubscription?.unsubscribe();
    this.#lostCallCheck?.stop();
    this.#lengths?.stop();
    this.#runner?.stopDispatch();
  }

  async close(): Promise<void> {
    this.stopDispatch();
    await this.#runner?.close();
  }

  #ready(): JetStreamQueueHandles {
    if (this.#handles === undefined) throw new ServiceUnavailableError('the cluster\'s Async queue is not set up yet');
    return this.#handles;
  }
}

/** A stop asked of a running call: the gateway running it must do it. */
class RunningError extends Error {
  readonly key: string;
  constructor(key: string) {
    super('running');
    this.key = key;
  }
}

/** The event of a kept call message; undefined when it cannot be read (then not compared). */
function eventOf(message: Uint8Array): Buffer | undefined {
  try {
    return decodeCallMessage(message).event;
  } catch {
    return undefined;
  }
}

async function publishCall(js: JetStreamClient, call: NewInvocation, message: Uint8Array, settings: JetStreamQueueSettings): Promise<{ seq: number; duplicate: boolean }> {
  try {
    return await js.publish(callSubject(call.service, call.function), message, {
      msgID: callMessageId(call.clientId, call.requestId),
      // Through a node's loss publishers stall 4-10 s (FACTS.md): wait that out, not the default 5 s.
      timeout: Math.max(10_000, Math.min(settings.ackWaitMs, 30_000)),
    });
  } catch (error) {
    // Not acknowledged: not accepted. The caller retries with the same request ID (§10.2).
    throw new ServiceUnavailableError(`the cluster did not acknowledge the call: ${error instanceof Error ? error.message : String(error)}`, {
      requestId: call.requestId,
      cause: error,
    });
  }
}
