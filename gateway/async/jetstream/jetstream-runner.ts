/**
 * Runs the calls of the cluster's Async stream (docs/cluster.md "Async calls"): every gateway
 * pulls from the one shared durable consumer, so each delivery goes to one gateway; a call is
 * acknowledged (and leaves the stream) only once its outcome is in the record bucket.
 *
 *   fetch ─▶ admit (record read; expired? out of attempts? delayed → NAK until due)
 *         ─▶ lane (the function's Async slots, §10.6) ─▶ record `running` (CAS) ─▶ run
 *         ─▶ succeeded/failed: record, destination (§10.5), ACK
 *         ─▶ retriable failure: record `retrying`, NAK with the backoff delay (§10.4)
 *
 * Attempts are deliveries: the retryCount a function sees is the delivery count − 1 (minus the
 * deliveries that only waited for a `delay`, §3.8). A gateway that dies mid-run never ACKs; after
 * the consumer's ack_wait the call goes to another gateway, one delivery later, so its re-run
 * sees a higher retryCount and the attempt that died counts (as in the single-box store).
 */
import { randomUUID } from 'node:crypto';
import type { Consumer, JsMsg } from '@nats-io/jetstream';
import { ErrorCode, ServiceUnavailableError, toEdgeFCError, type WireError } from 'edgefc/errors';
import { DEFAULT_QUALIFIER } from 'edgefc/protocol';
import type { FunctionHost } from '../../function-host.js';
import type { Logger } from '../../logging/logger.js';
import type { Registry } from '../../registry/registry.js';
import type { DestinationSpec, FunctionSpec, ServiceSpec } from '../../registry/types.js';
import type { InvocationResult } from '../../runtime/types.js';
import type { Versions } from '../../versions/versions.js';
import type { AsyncMetrics } from '../async-service.js';
import { asyncConfigOf, asyncSlots, destinationMessage, retryDelayMs, type BackoffOptions } from '../async-config.js';
import type { UnfinishedCall } from '../async-queue.js';
import { submitAttempt } from '../async-attempt.js';
import { enqueuedRecord, FINISHED_STATES, type InvocationRecord, type InvocationState, type NewInvocation } from '../invocation-record.js';
import { decodeCallMessage } from './call-message.js';
import { recordKey } from './names.js';
import type { RecordBucket, StoredEntry } from './record-bucket.js';
import type { RecordEntry } from './record-entry.js';

/** Codes that say the call can never work as sent (as in ../async-service.ts). */
const NOT_RETRIABLE: ReadonlySet<string> = new Set([ErrorCode.ServiceNotFound, ErrorCode.FunctionNotFound, ErrorCode.InvalidArgument]);
/**
 * Calls one gateway holds at most (running, or waiting for a slot of their function): it pulls
 * no more until some finish, so the others take the rest. Held calls get in-progress acks.
 */
const MAX_HELD = 256;
/** How long one pull waits for calls before it is renewed. */
const FETCH_EXPIRES_MS = 2_000;
/** How long past its expiry a pull may stay open before this gateway closes it. */
const FETCH_GRACE_MS = 3_000;
/** A call the pool refused at once (a Sync burst holds the slots) is tried again this much later. */
const REFUSED_RETRY_MS = 50;
/** A record read or write before a run that fails is tried again this much later, the call held. */
const RECORD_RETRY_MS = 1_000;
/** A record write that fails (a node lost: publishers stall 4-10 s, FACTS.md) is tried this often, 1 s apart. */
const RECORD_WRITE_TRIES = 15;

export interface JetStreamRunnerOptions {
  consumer: Consumer;
  records: RecordBucket;
  registry: Registry;
  versions: Versions | undefined;
  host: FunctionHost;
  logger: Logger;
  now: () => number;
  backoff: BackoffOptions;
  ackWaitMs: number;
  metrics: AsyncMetrics | undefined;
  /** mqtt:// destinations (§10.5). */
  publish: (topic: string, payload: Buffer) => Promise<void>;
  /** fc:// destinations: a new call into the stream (§10.5). */
  acceptDestination: (call: NewInvocation) => Promise<void>;
}

interface HeldCall {
  msg: JsMsg;
  call: NewInvocation;
  key: string;
  stored: StoredEntry;
  attempts: number;
  /** When this gateway got the delivery (a run of it started later elsewhere supersedes it). */
  receivedAt: number;
}

interface Lane {
  slots: number;
  inFlight: number;
  waiting: HeldCall[];
}

interface Running {
  controller: AbortController;
  stopRequested: boolean;
  finished: Promise<void>;
}

export class JetStreamRunner {
  readonly #o: JetStreamRunnerOptions;
  /** This runner, in the records it marks `running`. */
  readonly #id = randomUUID();
  /** Every delivery this gateway has and has not ACKed or NAKed, by stream sequence. */
  readonly #held = new Map<number, { msg: JsMsg; call: NewInvocation }>();
  readonly #lanes = new Map<string, Lane>();
  readonly #running = new Map<string, Running>();
  readonly #work = new Set<Promise<unknown>>();
  #dispatching = false;
  #closing = false;
  #heartbeat: NodeJS.Timeout | undefined;
  #roomFreed: (() => void) | undefined;
  #loop: Promise<void> | undefined;

  constructor(options: JetStreamRunnerOptions) {
    this.#o = options;
  }

  start(): void {
    this.#dispatching = true;
    // In-progress acks for every call held, a third of ack_wait apart: a run (or a wait for a
    // slot) longer than ack_wait is not given to another gateway while this one is alive.
    this.#heartbeat = setInterval(() => {
      for (const { msg } of this.#held.values()) msg.working();
    }, Math.max(1_000, Math.floor(this.#o.ackWaitMs / 3)));
    this.#heartbeat.unref();
    this.#loop = this.#pull();
  }

  /** Calls this gateway holds now (the metrics gauge): the cluster's backlog is the stream's. */
  unfinished(): UnfinishedCall[] {
    return [...this.#held.values()].map(({ call }) => ({ service: call.service, function: call.function, createdAt: call.createdAt }));
  }

  /** Cut a run of this gateway off (§9.6a, the stop subject); false when it runs elsewhere or not at all. */
  stopRunning(key: string): Promise<void> | undefined {
    const running = this.#running.get(key);
    if (running === undefined) return undefined;
    running.stopRequested = true;
    running.controller.abort(new ServiceUnavailableError('the call was stopped by an operator (invocations-stop)'));
    return running.finished;
  }

  stopDispatch(): void {
    this.#dispatching = false;
    this.#closing = true;
    this.#roomFreed?.();
  }

  /** After the host closed: calls held but not run go back to the stream at once (NAK). */
  async close(): Promise<void> {
    this.stopDispatch();
    clearInterval(this.#heartbeat);
    for (const lane of this.#lanes.values()) {
      for (const held of lane.waiting.splice(0)) this.#release(held.msg, 'nak');
    }
    await this.#loop?.catch(() => undefined);
    await Promise.allSettled([...this.#work]);
  }

  async #pull(): Promise<void> {
    while (this.#dispatching) {
      const room = MAX_HELD - this.#held.size;
      if (room <= 0) {
        await new Promise<void>((resolve) => (this.#roomFreed = resolve));
        continue;
      }
      try {
        const batch = await this.#o.consumer.fetch({ max_messages: Math.min(room, 64), expires: FETCH_EXPIRES_MS });
        // nats.js 3.4 ends a fetch by its heartbeats, and stops watching them on a disconnect; when
        // its check after the reconnect fails (the consumer's leader is being elected), the fetch
        // never ends: every gateway that was on a killed node stopped pulling for good (seen in
        // the kill test). This gateway's own bound on each pull:
        const watchdog = setTimeout(() => void batch.close().catch(() => undefined), FETCH_EXPIRES_MS + FETCH_GRACE_MS);
        try {
          for await (const msg of batch) this.#take(msg);
        } finally {
          clearTimeout(watchdog);
        }
      } catch (error) {
        if (!this.#dispatching) break;
        // A node lost, the consumer's leader moving: nats.js reconnects; pull again shortly.
        this.#o.logger.debug('Async pull failed; pulling again', { error: String(error) });
        await new Promise((resolve) => setTimeout(resolve, 500).unref());
      }
    }
  }

  #take(msg: JsMsg): void {
    let call: NewInvocation;
    try {
      call = decodeCallMessage(msg.data);
    } catch (error) {
      this.#o.logger.error('an Async stream message is not a call; dropped', { seq: msg.seq, error: String(error) });
      msg.term();
      return;
    }
    if (this.#closing) {
      msg.nak();
      return;
    }
    this.#held.set(msg.seq, { msg, call });
    this.#admitHeld(msg, call);
  }

  /**
   * Admit a held call; when the record bucket cannot be read or written (a node lost: 4-10 s,
   * FACTS.md), try again in a second, still holding it (in-progress acks). A NAK instead would be
   * one more delivery, which counts as an attempt: calls were seen failing "out of attempts" that
   * never ran, NAKed three times through one node's loss.
   */
  #admitHeld(msg: JsMsg, call: NewInvocation): void {
    this.#track(this.#admit(msg, call)).catch((error: unknown) => {
      this.#o.logger.warn('cannot read an Async record; trying again', { requestId: call.requestId, error: String(error) });
      this.#later(() => this.#admitHeld(msg, call), msg);
    });
  }

  /** Run `again` in a second, unless the gateway is closing (then the call goes back to the stream). */
  #later(again: () => void, msg: JsMsg): void {
    setTimeout(() => {
      if (this.#closing) this.#release(msg, 'nak');
      else again();
    }, RECORD_RETRY_MS).unref();
  }

  async #admit(msg: JsMsg, call: NewInvocation): Promise<void> {
    const key = recordKey(call.clientId, call.requestId);
    const now = this.#o.now();
    let stored = await this.#o.records.get(key);
    if (stored === undefined) {
      // Accepted by a gateway that died before it wrote the record: the stream has the call.
      const first: RecordEntry = { record: enqueuedRecord(call, msg.seq), deferrals: 0, message: msg.data };
      const revision = await this.#o.records.create(key, first);
      stored = revision === undefined ? await this.#o.records.get(key) : { ...first, revision };
      if (stored === undefined) throw new Error(`record ${key} vanished`);
    }
    const { record } = stored;
    // The record, not the stream sequence, says whether the call is done: nats-server 2.9.10 was
    // seen to give accepted calls other sequence numbers after its stream leader was killed
    // (a check of the record's sequence then skipped 541 of 3,000 calls as "re-sends"). A re-send
    // stored after the duplicate window is skipped here once the call is done, or by
    // #markRunning while it runs.
    if (FINISHED_STATES.includes(record.state)) return this.#release(msg, 'ack');
    if (call.notBefore !== undefined && call.notBefore > now && record.attempts === 0) {
      // §3.8: not yet due. The wait is a NAK delay; it is not an attempt, so it is counted apart.
      const next: RecordEntry = { record: { ...record, seq: msg.seq, nextAttemptAt: call.notBefore, updatedAt: now }, deferrals: stored.deferrals + 1, message: msg.data };
      if ((await this.#o.records.update(key, next, stored.revision)) === undefined) return this.#release(msg, 'nak', 0);
      return this.#release(msg, 'nak', call.notBefore - now);
    }
    // Deliveries count attempts, and so does the record: a re-run must see a higher retryCount
    // than the run before it whatever a delivery count says after a failover (a replica's
    // consumer state may lag its leader's: seen in /jsz during the kill test).
    const attempts = Math.max(msg.info.deliveryCount - stored.deferrals, record.attempts + 1);
    const entry = this.#o.registry.find(call.service, call.function);
    if (entry === undefined) {
      return this.#finish(msg, key, stored, finished(record, 'failed', now, attempts - 1, { code: ErrorCode.FunctionNotFound, message: `${call.service}/${call.function} is not served by this cluster's template` }));
    }
    const config = asyncConfigOf(entry.fn);
    if (now - call.createdAt > config.maxAsyncEventAgeMs) {
      return this.#finish(msg, key, stored, finished(record, 'expired', now, attempts - 1, {
        code: ErrorCode.DeadlineExceeded,
        message: `the call is older than maxAsyncEventAgeInSeconds (${config.maxAsyncEventAgeMs / 1000} s); it was not run`,
      }), config.onFailure, call.event);
    }
    if (attempts > config.maxAsyncRetryAttempts + 1) {
      // The last attempt was delivered to a gateway that died (or never answered): it counts.
      return this.#finish(msg, key, stored, finished(record, 'failed', now, attempts - 1, {
        code: ErrorCode.ServiceUnavailable,
        message: `the gateway running attempt ${attempts - 1} was lost; no attempts left`,
      }), config.onFailure, call.event);
    }
    const lane = this.#lane(entry.service, entry.fn);
    lane.waiting.push({ msg, call, key, stored, attempts, receivedAt: now });
    this.#pump(lane, entry.service, entry.fn);
  }

  #lane(service: Readonly<ServiceSpec>, fn: Readonly<FunctionSpec>): Lane {
    const name = `${service.name}/${fn.name}`;
    let lane = this.#lanes.get(name);
    if (lane === undefined) {
      lane = { slots: asyncSlots(fn), inFlight: 0, waiting: [] };
      this.#lanes.set(name, lane);
    }
    return lane;
  }

  #pump(lane: Lane, service: Readonly<ServiceSpec>, fn: Readonly<FunctionSpec>): void {
    while (this.#dispatching && lane.inFlight < lane.slots) {
      const next = lane.waiting.shift();
      if (next === undefined) return;
      lane.inFlight += 1;
      void this.#track(this.#run(lane, service, fn, next)).catch((error: unknown) => {
        // The record bucket cannot be written (the cluster is losing a node): the call keeps its
        // turn and is held (not NAKed: that would count as an attempt), tried again in a second.
        this.#o.logger.warn('cannot start an Async call; trying again', { requestId: next.call.requestId, error: String(error) });
        lane.waiting.unshift(next);
        this.#later(() => this.#pump(lane, service, fn), next.msg);
      }).finally(() => {
        lane.inFlight -= 1;
        this.#pump(lane, service, fn);
      });
    }
  }

  async #run(lane: Lane, service: Readonly<ServiceSpec>, fn: Readonly<FunctionSpec>, held: HeldCall): Promise<void> {
    const { msg, call, key } = held;
    const marked = await this.#markRunning(held);
    if (marked === 'done') return this.#release(msg, 'ack');
    if (marked === 'stale') return this.#drop(msg);
    const { stored, attempts } = marked;
    const controller = new AbortController();
    let result: Promise<InvocationResult>;
    try {
      const target = this.#target(service, fn, call.qualifier);
      result = submitAttempt(this.#o.host, target, call, controller.signal, attempts);
    } catch (error) {
      if (this.#closing) return this.#release(msg, 'nak');
      const typed = toEdgeFCError(error);
      if (typed.code === ErrorCode.FunctionNotFound) {
        result = Promise.reject(typed);
      } else {
        // Refused at once by the pool: not an attempt; back to the front of the lane, a moment later.
        lane.waiting.unshift({ ...held, stored });
        setTimeout(() => this.#pump(lane, service, fn), REFUSED_RETRY_MS).unref();
        return;
      }
    }
    const started = this.#o.now();
    this.#o.host.tapLogs(call.requestId);
    let done!: () => void;
    const state: Running = { controller, stopRequested: false, finished: new Promise((resolve) => (done = resolve)) };
    this.#running.set(key, state);
    try {
      const config = asyncConfigOf(fn);
      let outcome: { ok: InvocationResult } | { error: unknown };
      try {
        outcome = { ok: await result };
      } catch (error) {
        outcome = { error };
      }
      const now = this.#o.now();
      const logTail = this.#o.host.untapLogs(call.requestId);
      const base: InvocationRecord = { ...stored.record, durationMs: now - started, logTail };
      if ('ok' in outcome) {
        const record: InvocationRecord = { ...finished(base, 'succeeded', now, attempts), result: outcome.ok.payload, resultBinary: outcome.ok.binary };
        return await this.#finish(msg, key, stored, record, config.onSuccess, call.event);
      }
      const typed = toEdgeFCError(outcome.error);
      if (state.stopRequested) return await this.#finish(msg, key, stored, finished(base, 'stopped', now, attempts, typed.toWire()));
      if (this.#closing && typed.code === ErrorCode.ServiceUnavailable) {
        // Cut off by this gateway's shutdown: the call goes back to the stream now, and the
        // next gateway's attempt counts this one (as a crash would).
        return this.#release(msg, 'nak');
      }
      if (!NOT_RETRIABLE.has(typed.code) && attempts <= config.maxAsyncRetryAttempts) {
        const delay = retryDelayMs(attempts, this.#o.backoff);
        const retrying: InvocationRecord = { ...base, state: 'retrying', attempts, error: typed.toWire(), nextAttemptAt: now + delay, updatedAt: now };
        await this.#write(key, { record: retrying, deferrals: stored.deferrals, message: msg.data });
        this.#o.metrics?.asyncRetry(`${call.service}/${call.function}`);
        return this.#release(msg, 'nak', delay);
      }
      this.#o.logger.warn('async call failed', { requestId: call.requestId, function: `${call.service}/${call.function}`, code: typed.code, attempts });
      return await this.#finish(msg, key, stored, finished(base, 'failed', now, attempts, typed.toWire()), config.onFailure, call.event);
    } finally {
      this.#running.delete(key);
      done();
    }
  }

  /**
   * The record `running`, over the revision read at admission: a cancel (§9.6) that got in first
   * wins. `done`: the call is not to run (finished meanwhile, or another call's record; ACK it).
   * `stale`: a later delivery of it has started (this one's in-progress acks did not reach the
   * server in time, a node being lost), or this gateway runs it already: that run ACKs it; this
   * delivery lets go. A run that started before this delivery arrived is one whose gateway died
   * (or whose delivery the server forgot): this delivery runs the call again, one attempt later.
   * Across boxes the comparison is as good as their clocks agree (NTP: milliseconds).
   */
  async #markRunning(held: HeldCall): Promise<{ stored: StoredEntry; attempts: number } | 'done' | 'stale'> {
    const { msg, key } = held;
    // This delivery: a write of ours whose answer was lost (a node lost) is ours, not another's.
    const runner = `${this.#id}/${msg.info.deliverySequence}`;
    let stored: StoredEntry | undefined = held.stored;
    for (let tries = 0; ; tries++) {
      if (stored === undefined || FINISHED_STATES.includes(stored.record.state)) return 'done';
      if (stored.record.state === 'running' && stored.runner === runner) return { stored, attempts: stored.record.attempts };
      if (this.#running.has(key)) return 'stale';
      if (stored.record.state === 'running' && (stored.record.startedAt ?? 0) >= held.receivedAt) return 'stale';
      if (tries >= 4) throw new Error(`the record of ${held.call.requestId} keeps changing`);
      const attempts = Math.max(held.attempts, stored.record.attempts + 1);
      const now = this.#o.now();
      // `seq`: the message this run holds, which the lost-call check looks for (./lost-call-check.ts).
      const running: InvocationRecord = { ...stored.record, seq: msg.seq, state: 'running', attempts, startedAt: now, updatedAt: now, nextAttemptAt: undefined };
      // The call stays in the record while it runs: a run outlives a lost stream message.
      const entry: RecordEntry = { record: running, deferrals: stored.deferrals, runner, message: msg.data };
      const revision = await this.#o.records.update(key, entry, stored.revision);
      if (revision !== undefined) {
        return { stored: { ...entry, revision }, attempts };
      }
      stored = await this.#o.records.get(key);
    }
  }

  #target(service: Readonly<ServiceSpec>, fn: Readonly<FunctionSpec>, qualifier: string): { service: Readonly<ServiceSpec>; fn: Readonly<FunctionSpec> } {
    // §3.2a: resolved at each run, as the single-box queue does (../async-service.ts #target).
    if (qualifier !== DEFAULT_QUALIFIER && this.#o.versions !== undefined) return this.#o.versions.resolve(service.name, fn.name, qualifier);
    return { service, fn };
  }

  /** The final record, then the destination (§10.5), then the ACK: a crash before the ACK re-delivers a call whose record says it is done. */
  async #finish(msg: JsMsg, key: string, stored: StoredEntry, record: InvocationRecord, destination?: DestinationSpec, event?: Buffer): Promise<void> {
    if (record.state === 'failed' || record.state === 'expired') this.#o.metrics?.asyncDeadLetter(`${record.service}/${record.function}`, record.state);
    const toTell = record.state === 'cancelled' || record.state === 'stopped' ? undefined : destination;
    await this.#write(key, { record: { ...record, destinationPending: toTell?.kind === 'mqtt' ? toTell.topic : undefined }, deferrals: stored.deferrals });
    if (toTell?.kind === 'mqtt') {
      await this.#o.publish(toTell.topic, destinationMessage(record, event)).catch((error: unknown) =>
        this.#o.logger.warn('destination publish failed', { topic: toTell.topic, requestId: record.requestId, error: String(error) }));
    } else if (toTell?.kind === 'fc') {
      await this.#o.acceptDestination({
        clientId: '',
        // Derived from the call it reports: a finish repeated after a crash is the same call (§10.2).
        requestId: `dest-${key}`,
        service: toTell.serviceName,
        function: toTell.functionName,
        source: 'destination',
        topic: undefined,
        event: destinationMessage(record, event),
        invokerContext: undefined,
        qualifier: DEFAULT_QUALIFIER,
        createdAt: record.finishedAt ?? this.#o.now(),
        trace: record.trace,
      }).catch((error: unknown) => this.#o.logger.warn('destination call not taken', { requestId: record.requestId, error: String(error) }));
    }
    this.#release(msg, 'ack');
  }

  /** A record write, tried again through a node's loss; given up (logged) after RECORD_WRITE_TRIES. */
  async #write(key: string, entry: RecordEntry): Promise<void> {
    for (let tries = 1; ; tries++) {
      try {
        await this.#o.records.put(key, entry);
        return;
      } catch (error) {
        if (tries >= RECORD_WRITE_TRIES) {
          this.#o.logger.error('could not write an Async record', { requestId: entry.record.requestId, error: String(error) });
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, 1_000).unref());
      }
    }
  }

  /** Let go of a delivery another one superseded: no ACK (it would end the other's run's call), no NAK. */
  #drop(msg: JsMsg): void {
    if (this.#held.get(msg.seq)?.msg === msg) this.#held.delete(msg.seq);
    this.#roomFreed?.();
    this.#roomFreed = undefined;
  }

  #release(msg: JsMsg, how: 'ack' | 'nak', delayMs?: number): void {
    // A later delivery of the same call may be held now (ack_wait passed during a node's loss).
    if (this.#held.get(msg.seq)?.msg === msg) this.#held.delete(msg.seq);
    if (how === 'ack') msg.ack();
    else msg.nak(delayMs);
    this.#roomFreed?.();
    this.#roomFreed = undefined;
  }

  #track<T>(work: Promise<T>): Promise<T> {
    this.#work.add(work);
    void work.finally(() => this.#work.delete(work)).catch(() => undefined);
    return work;
  }
}

function finished(record: InvocationRecord, state: InvocationState, now: number, attempts: number, error?: WireError): InvocationRecord {
  return { ...record, state, attempts: Math.max(record.attempts, attempts), finishedAt: now, updatedAt: now, nextAttemptAt: undefined, error };
}
