/**
 * Durable Async invocations (docs/protocol.md §10): take a call only once it is on disk, run it
 * at least once with retries and backoff, expire what is too old, report the outcome to the
 * function's destinations, and resume everything unfinished after a restart.
 *
 *   accept ──▶ store.insert (group commit) ──▶ lane.ready ──▶ FunctionHost.submit ──▶ outcome
 *                                                 ▲                                   │
 *                                                 └──── retrying (backoff) ◀──────────┤
 *                                                          succeeded / failed / expired ──▶ destination
 */
import {
  ErrorCode,
  InvalidArgumentError,
  ServiceUnavailableError,
  toEdgeFCError,
  type WireError,
} from 'edgefc/errors';
import type { FunctionHost } from '../function-host.js';
import type { Logger } from '../logging/logger.js';
import type { Registry } from '../registry/registry.js';
import type { Versions } from '../versions/versions.js';
import { DEFAULT_QUALIFIER } from 'edgefc/protocol';
import type { DestinationSpec, FunctionSpec, ServiceSpec } from '../registry/types.js';
import type { InvocationResult } from '../runtime/types.js';
import { destinationMessage, retryDelayMs, type BackoffOptions } from './async-config.js';
import { Lane, type ClaimedCall } from './async-lanes.js';
import { FreshCalls } from './fresh-calls.js';
import { submitAttempt } from './async-attempt.js';
import { newInvocation, queueFullError, requestIdReusedError } from './accept-call.js';
import type { AcceptInput, AsyncQueue, DestinationPublisher, UnfinishedCall } from './async-queue.js';
import type { AsyncStore, FinishFields, ListFilter, RunnableCall } from './async-store.js';
import { InvocationState, type InvocationRecord, type NewInvocation } from './invocation-record.js';

export interface RecordRetention {
  /** Finished records older than this are deleted. @default 7 days */
  maxAgeMs: number;
  /** Finished records past the newest this many are deleted. @default 100_000 */
  maxRecords: number;
}

export const DEFAULT_RETENTION: RecordRetention = { maxAgeMs: 7 * 24 * 3600 * 1000, maxRecords: 100_000 };

export interface AsyncServiceOptions {
  store: AsyncStore;
  registry: Registry;
  /** Service versions and aliases (§3.2a); without, every call runs on LATEST. */
  versions?: Versions;
  host: FunctionHost;
  logger: Logger;
  /** @default Date.now */
  now?: () => number;
  /** @default { baseMs: 1000, maxMs: 300_000 } */
  backoff?: Partial<BackoffOptions>;
  /** @default DEFAULT_RETENTION */
  retention?: Partial<RecordRetention>;
  /** How often finished records are pruned. @default 60_000 */
  pruneIntervalMs?: number;
  /** Told of retries and of calls that end failed or expired (gateway/metrics/gateway-metrics.ts). */
  metrics?: AsyncMetrics;
}

export interface AsyncMetrics {
  asyncRetry(fn: string): void;
  asyncDeadLetter(fn: string, reason: 'failed' | 'expired'): void;
  /** NATS mode: an accepted call the stream had lost, published again from its record. */
  asyncRepublished(fn: string): void;
}

export type { AcceptInput, DestinationPublisher } from './async-queue.js';

/** Codes that say the call can never work as sent: retrying would only repeat them. */
const NOT_RETRIABLE: ReadonlySet<string> = new Set([ErrorCode.ServiceNotFound, ErrorCode.FunctionNotFound, ErrorCode.InvalidArgument]);
/**
 * Calls a lane claims ahead at least (#pump): runs of a short function end faster than a commit
 * (1-6 ms of fsync), so the next ones must already be claimed. Measured end to end in the Async
 * intake bench (a no-op function, 15 slots; build before claims: 0.27-0.38× raw): `slots` ahead
 * 0.17-0.18×, 64 ahead 0.20-0.22×, 256 ahead 0.23-0.28×. The price: a crash may find this many
 * first attempts claimed but not started (each then runs with retryCount 1).
 */
const MIN_CLAIM_AHEAD = 256;
/** A call the pool refused at once (a Sync burst holds the slots) is tried again this much later, not counted. */
const REFUSED_RETRY_MS = 50;

/** The single-box AsyncQueue: calls in the gateway's SQLite file (./async-store.ts). */
export class AsyncService implements AsyncQueue {
  readonly #store: AsyncStore;
  readonly #registry: Registry;
  readonly #versions: Versions | undefined;
  readonly #host: FunctionHost;
  readonly #logger: Logger;
  readonly #now: () => number;
  readonly #backoff: BackoffOptions;
  readonly #retention: RecordRetention;
  readonly #pruneIntervalMs: number;
  readonly #lanes = new Map<string, Lane>();
  readonly #timers = new Map<Lane, { timer: NodeJS.Timeout; at: number }>();
  /** Runs whose outcome is not yet written: close() waits for them. */
  readonly #inFlight = new Set<Promise<void>>();
  /** Calls running now (or having their `running` state written), for cancel() to tell "running" from "waiting". */
  readonly #running = new Set<number>();
  /** Calls whose `running` state is being written, by seq: stop() waits for it. */
  readonly #claims = new Map<number, Promise<void>>();
  /** Calls handed to the pool: how to stop each, and its outcome written. */
  readonly #runs = new Map<number, { controller: AbortController; finished: Promise<void> }>();
  /** Running calls an operator stopped: their failure ends them `stopped`. */
  readonly #stopRequested = new Set<number>();
  /** Final states being written, by seq (stop() answers once its call's is on disk). */
  readonly #finishing = new Map<number, Promise<void>>();
  /** Lanes the pool refused a moment ago; their timer resumes them. */
  readonly #paused = new Set<Lane>();
  /** Calls just accepted, so their first run needs no read of the store. */
  readonly #fresh = new FreshCalls();
  #publish: DestinationPublisher | undefined;
  #pruneTimer: NodeJS.Timeout | undefined;
  #dispatching = false;
  #closing = false;
  readonly #metrics: AsyncMetrics | undefined;

  constructor(options: AsyncServiceOptions) {
    this.#metrics = options.metrics;
    this.#store = options.store;
    this.#registry = options.registry;
    this.#versions = options.versions;
    this.#host = options.host;
    this.#logger = options.logger;
    this.#now = options.now ?? Date.now;
    this.#backoff = { baseMs: options.backoff?.baseMs ?? 1000, maxMs: options.backoff?.maxMs ?? 300_000 };
    this.#retention = { ...DEFAULT_RETENTION, ...options.retention };
    this.#pruneIntervalMs = options.pruneIntervalMs ?? 60_000;
  }

  get store(): AsyncStore {
    return this.#store;
  }

  /**
   * Resume every unfinished call in the store and start running calls. Calls that were running
   * when the gateway last stopped count that attempt and are retried (or fail, out of attempts).
   */
  start(publish: DestinationPublisher): void {
    this.#publish = publish;
    const now = this.#now();
    let resumed = 0;
    for (const row of this.#store.unfinished()) {
      const entry = this.#registry.find(row.service, row.function);
      if (entry === undefined) {
        void this.#store.markFinished(row.seq, finish('failed', now, {
          error: { code: ErrorCode.FunctionNotFound, message: this.#registry.explainMissing?.(row.service, row.function) ?? `${row.service}/${row.function} is no longer in the template` },
        }));
        continue;
      }
      const lane = this.#lane(entry.service, entry.fn);
      lane.unfinished += 1;
      resumed += 1;
      if (row.state === InvocationState.running) {
        // It was running when the gateway died: that attempt counts (at least once, never "maybe zero").
        if (row.attempts > lane.config.maxAsyncRetryAttempts) {
          lane.unfinished -= 1;
          const call = this.#store.load(row.seq);
          if (call !== undefined) {
            void this.#finish(lane, call, finish('failed', now, {
              error: { code: ErrorCode.ServiceUnavailable, message: `the gateway stopped during attempt ${row.attempts}; no attempts left` },
            }));
          }
          continue;
        }
        void this.#store.requeue(row.seq, now);
        lane.pushReady(row.seq);
      } else if (row.nextAttemptAt !== undefined && row.nextAttemptAt > now) {
        lane.delay(row.seq, row.nextAttemptAt);
      } else {
        lane.pushReady(row.seq);
      }
    }
    for (const record of this.#store.pendingDestinations()) this.#publishDestination(record, record.destinationPending ?? '');
    if (resumed > 0) this.#logger.info('resumed unfinished Async calls', { calls: resumed });
    this.#dispatching = true;
    for (const lane of this.#lanes.values()) this.#pump(lane);
    void this.#prune();
    this.#pruneTimer = setInterval(() => void this.#prune(), this.#pruneIntervalMs);
    this.#pruneTimer.unref();
  }

  /**
   * Take one Async call (§10.1). Throws at once ResourceThrottled when the function's durable
   * queue is full; resolves once the call is committed to disk, with `duplicate` when a call
   * with this client and request ID was already stored (it is not stored or run again, §10.2);
   * rejects with ServiceUnavailable when the store cannot write.
   */
  accept(service: Readonly<ServiceSpec>, fn: Readonly<FunctionSpec>, input: AcceptInput): Promise<{ duplicate: boolean }> {
    if (this.#closing) throw new ServiceUnavailableError('the gateway is shutting down', { requestId: input.requestId });
    const lane = this.#lane(service, fn);
    // No lookup first: the insert itself dedupes (INSERT OR IGNORE on the client and request ID)
    // and says so, and a read per call was ~6-9 % of the gateway's time during intake. Only a
    // full queue asks, so a retry of a call already stored is accepted again, not refused (§10.2).
    if (lane.unfinished >= lane.config.maxAsyncQueueLength && !this.#store.has(input.clientId, input.requestId)) {
      throw queueFullError(lane.label, lane.unfinished, lane.config.maxAsyncQueueLength, input.requestId);
    }
    const call = newInvocation({ service: service.name, function: fn.name, maxAsyncEventAgeMs: lane.config.maxAsyncEventAgeMs }, input, this.#now());
    lane.unfinished += 1;
    return this.#store.insert(call).then(
      (seq) => {
        if (seq === undefined) {
          lane.unfinished -= 1;
          this.#assertSameCall(call);
        } else {
          this.#fresh.keep(seq, call);
          if (call.notBefore === undefined) {
            this.#enqueue(lane, seq);
          } else {
            lane.delay(seq, call.notBefore);
            this.#pump(lane);
          }
        }
        return { duplicate: seq === undefined };
      },
      (error: unknown) => {
        lane.unfinished -= 1;
        throw error;
      },
    );
  }

  /**
   * §10.2: a request ID already stored for this client is a retry of that call only when it
   * names the same function with the same event; anything else is a different call reusing the
   * ID, refused (InvalidArgument) rather than silently answered "accepted" for the first one.
   * Only duplicates pay for this read.
   */
  #assertSameCall(call: NewInvocation): void {
    const stored = this.#store.find(call.clientId, call.requestId);
    if (stored === undefined) return; // pruned meanwhile: nothing to compare with
    const sameFunction = stored.service === call.service && stored.function === call.function;
    if (sameFunction && this.#store.event(stored.seq)?.equals(call.event) === true) return;
    throw requestIdReusedError(call, stored, sameFunction);
  }

  /** A client's own call (the status topic, §10.7); a synchronous read of the local file. */
  status(clientId: string, requestId: string): Promise<InvocationRecord | undefined> {
    return Promise.resolve(this.#store.find(clientId, requestId));
  }

  get(requestId: string): Promise<InvocationRecord[]> {
    return Promise.resolve(this.#store.findByRequestId(requestId));
  }

  list(filter: ListFilter): Promise<InvocationRecord[]> {
    return Promise.resolve(this.#store.list(filter));
  }

  get isOpen(): boolean {
    return this.#store.isOpen;
  }

  unfinished(): readonly UnfinishedCall[] {
    return this.#store.isOpen ? this.#store.unfinished() : [];
  }

  /** Cancel a call that waits (enqueued or retrying). InvalidArgument when it is unknown, running or finished. */
  async cancel(requestId: string, clientId?: string): Promise<InvocationRecord> {
    const record = await this.#settledClaim(this.#findOne(requestId, clientId));
    if (this.#runs.has(record.seq)) throw new InvalidArgumentError(`${requestId} is running; only a waiting call can be cancelled (invocations-stop stops a running one)`);
    return this.#endWaiting(record, 'cancelled');
  }

  /**
   * Stop a call (§9.6a; FC's StopAsyncTask, state "Stopped"): one that waits ends `stopped`
   * without running; a running one has its run cut off (its instance is stopped:
   * function-pool.ts #invokeStoppable) and ends `stopped`, not retried, no destination told.
   * Resolves with the record once that is on disk. InvalidArgument when it is unknown or finished.
   */
  async stop(requestId: string, clientId?: string): Promise<InvocationRecord> {
    const record = await this.#settledClaim(this.#findOne(requestId, clientId));
    const running = this.#runs.get(record.seq);
    if (running === undefined) return this.#endWaiting(record, 'stopped');
    this.#stopRequested.add(record.seq);
    running.controller.abort(new ServiceUnavailableError(`${requestId} was stopped by an operator (invocations-stop)`, { requestId }));
    await running.finished;
    await this.#finishing.get(record.seq);
    return this.#store.get(record.seq) ?? record;
  }

  /**
   * A call whose `running` state is being written (claimed ahead, #pump) is neither waiting nor
   * running yet: once the write is done it is one or the other. The record as it is then.
   */
  async #settledClaim(record: InvocationRecord): Promise<InvocationRecord> {
    const claim = this.#claims.get(record.seq);
    if (claim === undefined) return record;
    await claim;
    return this.#store.get(record.seq) ?? record;
  }

  #findOne(requestId: string, clientId: string | undefined): InvocationRecord {
    const records = this.#store.findByRequestId(requestId).filter((r) => clientId === undefined || r.clientId === clientId);
    const record = records[0];
    if (record === undefined) throw new InvalidArgumentError(`no Async invocation with request ID ${requestId}`);
    if (records.length > 1) {
      throw new InvalidArgumentError(`request ID ${requestId} names calls of ${records.length} clients; give the client ID too`);
    }
    return record;
  }

  /** End a call that waits (ready, delayed, or claimed) as `state`, unrun. */
  async #endWaiting(record: InvocationRecord, state: 'cancelled' | 'stopped'): Promise<InvocationRecord> {
    const lane = this.#lanes.get(`${record.service}/${record.function}`);
    const claim = lane?.removeClaimed(record.seq);
    // Claimed ahead but never started: its attempt is given back before it ends.
    if (claim !== undefined) this.#giveBack(claim);
    if (lane === undefined || (claim === undefined && !lane.remove(record.seq))) {
      throw new InvalidArgumentError(`${record.requestId} is ${record.state}; only a waiting (enqueued or retrying) call can be ${state}`);
    }
    lane.unfinished -= 1;
    this.#fresh.take(record.seq);
    await this.#store.markFinished(record.seq, finish(state, this.#now(), { error: record.error }));
    return this.#store.get(record.seq) ?? record;
  }

  /** Stop starting calls (the host then drains those running). */
  stopDispatch(): void {
    this.#closing = true;
    this.#dispatching = false;
    for (const { timer } of this.#timers.values()) clearTimeout(timer);
    this.#timers.clear();
    clearInterval(this.#pruneTimer);
  }

  /** After the host closed: write the last outcomes and close the store. */
  async close(): Promise<void> {
    this.stopDispatch();
    for (const lane of this.#lanes.values()) {
      for (const claim of lane.takeClaimed()) {
        lane.unfinished -= 1;
        this.#giveBack(claim);
      }
    }
    await Promise.allSettled([...this.#inFlight]);
    await this.#store.close();
  }

  /**
   * §3.2a: what a stored call runs on, resolved at each run as FC resolves an Async call's
   * qualifier when it is taken from the queue: LATEST is what the gateway serves now, a version is
   * frozen, an alias is followed where it points now (a weighted one picks per attempt).
   */
  #target(lane: Lane, qualifier: string): { service: Readonly<ServiceSpec>; fn: Readonly<FunctionSpec> } {
    if (qualifier !== DEFAULT_QUALIFIER && this.#versions !== undefined) return this.#versions.resolve(lane.service.name, lane.fn.name, qualifier);
    if (lane.service.versionId === '') return lane;
    return this.#registry.lookup(lane.service.name, lane.fn.name);
  }

  #lane(service: Readonly<ServiceSpec>, fn: Readonly<FunctionSpec>): Lane {
    const key = `${service.name}/${fn.name}`;
    let lane = this.#lanes.get(key);
    if (lane === undefined) {
      lane = new Lane(service, fn);
      this.#lanes.set(key, lane);
    }
    return lane;
  }

  #enqueue(lane: Lane, seq: number): void {
    lane.pushReady(seq);
    this.#pump(lane);
  }

  /**
   * Start what the lane may start. A call starts only once its `running` state, with its attempt
   * number, is on disk (#claim), so a run that a crash interrupts is always counted and the run
   * after it sees a higher retryCount (issue 12). Writing that state as a slot frees would put a
   * commit (1-6 ms of fsync) before every run and cut how many short calls a lane runs per
   * second to slots / commit time (measured: 2.4× fewer calls/s end to end in the Async intake
   * bench); so the lane claims ahead up to max(slots, MIN_CLAIM_AHEAD) more calls, in the same group commits as the
   * intake, and starts them as slots free. Only first attempts of functions that may retry are
   * claimed ahead: one that a crash finds claimed but not started is counted as tried (its first
   * run then sees retryCount 1) but still runs; a last attempt is claimed only for a free slot.
   */
  #pump(lane: Lane): void {
    if (!this.#dispatching || this.#paused.has(lane)) return;
    const next = lane.promoteDue(this.#now());
    for (;;) {
      while (lane.inFlight < lane.slots) {
        const claim = lane.shiftClaimed();
        if (claim === undefined) break;
        if (this.#now() - claim.call.record.createdAt > lane.config.maxAsyncEventAgeMs) {
          // Too old by the time its slot freed: its claimed attempt is given back, then it expires.
          this.#giveBack(claim);
          this.#expire(lane, claim.call, this.#now());
          continue;
        }
        if (!this.#submit(lane, claim)) {
          // Refused at once by the pool (Sync calls hold every slot and its queue): not a new
          // attempt; the call keeps its turn and its claim, and the lane waits a moment.
          lane.unshiftClaimed(claim);
          this.#paused.add(lane);
          this.#wakeAt(lane, this.#now() + REFUSED_RETRY_MS);
          return;
        }
      }
      const seq = lane.peekReady();
      if (seq === undefined) break;
      const held = lane.inFlight + lane.claiming + lane.claimedCount;
      if (held >= lane.slots + Math.max(lane.slots, MIN_CLAIM_AHEAD)) break;
      if (held >= lane.slots && !(lane.config.maxAsyncRetryAttempts >= 1 && this.#fresh.has(seq))) break;
      lane.shiftReady();
      this.#claim(lane, seq);
    }
    if (next !== undefined) this.#wakeAt(lane, next);
  }

  /** One timer per lane, at the earliest time it has work for. */
  #wakeAt(lane: Lane, at: number): void {
    const existing = this.#timers.get(lane);
    if (existing !== undefined && existing.at <= at) return;
    if (existing !== undefined) clearTimeout(existing.timer);
    const timer = setTimeout(() => {
      this.#timers.delete(lane);
      this.#paused.delete(lane);
      this.#pump(lane);
    }, Math.max(0, Math.min(at - this.#now(), 2 ** 31 - 1)));
    timer.unref();
    this.#timers.set(lane, { timer, at });
  }

  /** Write a ready call's `running` state (a prompt write, in the next group commit); it joins the lane's claimed calls once committed. */
  #claim(lane: Lane, seq: number): void {
    const call = this.#fresh.take(seq) ?? this.#store.load(seq);
    if (call === undefined) {
      lane.unfinished -= 1; // pruned or deleted by hand
      return;
    }
    const { record } = call;
    const now = this.#now();
    if (this.#expire(lane, call, now)) return;
    const attempts = record.attempts + 1;
    lane.claiming += 1;
    this.#running.add(seq);
    const claimed: Promise<void> = this.#store.markRunning(seq, attempts, now).then(
      () => {
        lane.claiming -= 1;
        this.#running.delete(seq);
        if (this.#closing) {
          this.#giveBack({ call, attempts });
          lane.unfinished -= 1;
          return;
        }
        lane.pushClaimed({ call, attempts });
        this.#pump(lane);
      },
      (error: unknown) => {
        // The store cannot write: the call is not run now (the next start resumes it from disk).
        lane.claiming -= 1;
        lane.unfinished -= 1;
        this.#running.delete(seq);
        this.#logWriteFailure(record, error);
      },
    );
    this.#inFlight.add(claimed);
    this.#claims.set(seq, claimed);
    void claimed.finally(() => {
      this.#inFlight.delete(claimed);
      this.#claims.delete(seq);
    });
  }

  /** Expire a call older than maxAsyncEventAgeInSeconds (it is not run); false when it is young enough. */
  #expire(lane: Lane, call: RunnableCall, now: number): boolean {
    if (now - call.record.createdAt <= lane.config.maxAsyncEventAgeMs) return false;
    lane.unfinished -= 1;
    void this.#finish(lane, call, finish('expired', now, {
      error: {
        code: ErrorCode.DeadlineExceeded,
        message: `the call is older than maxAsyncEventAgeInSeconds (${lane.config.maxAsyncEventAgeMs / 1000} s); it was not run`,
      },
    }));
    return true;
  }

  /** A call claimed but never submitted goes back to waiting with its attempt count as before. */
  #giveBack({ call, attempts }: ClaimedCall): void {
    const { record } = call;
    const written = this.#store.requeue(record.seq, this.#now(), attempts - 1).catch((error: unknown) => this.#logWriteFailure(record, error));
    this.#inFlight.add(written);
    void written.finally(() => this.#inFlight.delete(written));
  }

  /** Hand a call whose `running` state is on disk to the pool; false when the pool refused it at once. */
  #submit(lane: Lane, { call, attempts }: ClaimedCall): boolean {
    const { record } = call;
    const seq = record.seq;
    let result: Promise<InvocationResult> | undefined;
    const controller = new AbortController();
    let target: { service: Readonly<ServiceSpec>; fn: Readonly<FunctionSpec> };
    try {
      target = this.#target(lane, call.qualifier);
    } catch (error) {
      // §3.2a: the version or alias is gone since acceptance (deleted): this attempt fails with
      // FunctionNotFound, as a call to it now would, and retries and expiry go on as for any failure.
      target = lane;
      result = Promise.reject(toEdgeFCError(error));
    }
    try {
      const attempt = { requestId: record.requestId, event: call.event, invokerContext: call.invokerContext, qualifier: call.qualifier, source: record.source, trace: record.trace };
      result ??= submitAttempt(this.#host, target, attempt, controller.signal, attempts);
    } catch (error) {
      if (!this.#closing) this.#logger.debug('async call refused by the pool; retrying shortly', { requestId: record.requestId, error: String(error) });
      return false;
    }
    lane.inFlight += 1;
    this.#running.add(seq);
    this.#host.tapLogs(record.requestId);
    const started = this.#now();
    const settled: Promise<void> = result
      .then(
        // The slot frees when the run ends, not when its outcome is written (a lazy write, ≤ 20 ms).
        (ok) => void this.#onSuccess(lane, call, attempts, started, ok),
        (error: unknown) => void this.#onFailure(lane, call, attempts, started, error),
      )
      .finally(() => {
        lane.inFlight -= 1;
        this.#running.delete(seq);
        this.#runs.delete(seq);
        this.#stopRequested.delete(seq);
        this.#inFlight.delete(settled);
        this.#pump(lane);
      });
    this.#inFlight.add(settled);
    this.#runs.set(seq, { controller, finished: settled });
    return true;
  }

  #onSuccess(lane: Lane, call: RunnableCall, attempts: number, started: number, result: InvocationResult): Promise<void> {
    const now = this.#now();
    const logTail = this.#host.untapLogs(call.record.requestId);
    lane.unfinished -= 1;
    call.record.attempts = attempts;
    return this.#finish(lane, call, finish('succeeded', now, { durationMs: now - started, result: result.payload, resultBinary: result.binary, logTail }));
  }

  #onFailure(lane: Lane, call: RunnableCall, attempts: number, started: number, error: unknown): Promise<void> | undefined {
    const now = this.#now();
    const logTail = this.#host.untapLogs(call.record.requestId);
    const typed = toEdgeFCError(error);
    const { record } = call;
    record.attempts = attempts;
    if (this.#stopRequested.has(record.seq)) {
      // An operator stopped it (§9.6a): not retried, whatever the error.
      lane.unfinished -= 1;
      return this.#finish(lane, call, finish('stopped', now, { durationMs: now - started, error: typed.toWire(), logTail }));
    }
    if (this.#closing && typed.code === ErrorCode.ServiceUnavailable) {
      // Stopped by the shutdown, not by the function: it stays "running" on disk, and the next
      // start counts this attempt and retries it.
      lane.unfinished -= 1;
      return;
    }
    const wire = typed.toWire();
    if (!NOT_RETRIABLE.has(typed.code) && attempts <= lane.config.maxAsyncRetryAttempts) {
      const at = now + retryDelayMs(attempts, this.#backoff);
      void this.#store.markRetrying(record.seq, at, now, now - started, wire, logTail).catch((e: unknown) => this.#logWriteFailure(record, e));
      lane.delay(record.seq, at);
      this.#metrics?.asyncRetry(lane.label);
      this.#logger.debug('async call failed; will retry', { requestId: record.requestId, code: typed.code, attempts, retryAt: at });
      return;
    }
    lane.unfinished -= 1;
    this.#logger.warn('async call failed', { requestId: record.requestId, function: lane.label, code: typed.code, attempts, error: typed.message });
    return this.#finish(lane, call, finish('failed', now, { durationMs: now - started, error: wire, logTail }));
  }

  /** Write the final state, and hand the outcome to the destination (§10.5) atomically with it. */
  #finish(lane: Lane, call: RunnableCall, fields: FinishFields): Promise<void> {
    const { record } = call;
    if (fields.state === 'failed' || fields.state === 'expired') this.#metrics?.asyncDeadLetter(lane.label, fields.state);
    const dest: DestinationSpec | undefined =
      fields.state === 'succeeded' ? lane.config.onSuccess : fields.state === 'cancelled' || fields.state === 'stopped' ? undefined : lane.config.onFailure;
    // The record as finished, for a destination's message; only built when there is one.
    const final = (): InvocationRecord => ({
      ...record,
      state: fields.state,
      finishedAt: fields.finishedAt,
      updatedAt: fields.finishedAt,
      durationMs: fields.durationMs,
      result: fields.result,
      resultBinary: fields.resultBinary,
      error: fields.error,
      logTail: fields.logTail,
    });
    let targetLane: Lane | undefined;
    let destinationCall: NewInvocation | undefined;
    if (dest?.kind === 'mqtt') fields.destinationPending = dest.topic;
    if (dest?.kind === 'fc') {
      const entry = this.#registry.find(dest.serviceName, dest.functionName);
      if (entry !== undefined) {
        targetLane = this.#lane(entry.service, entry.fn);
        destinationCall = {
          // A destination call is internal: no client, and an ID derived from its source, so a
          // replayed finish cannot store it twice.
          clientId: '',
          requestId: `dest-${record.seq}`,
          service: entry.service.name,
          function: entry.fn.name,
          source: 'destination',
          topic: undefined,
          event: destinationMessage(final(), call.event),
          invokerContext: undefined,
          qualifier: 'LATEST',
          createdAt: fields.finishedAt,
          // §3.7: the destination's run belongs to the trace of the call it reports.
          trace: record.trace,
        };
      }
    }
    const written = this.#store.markFinished(record.seq, fields, destinationCall).then(
      (destinationSeq) => {
        if (targetLane !== undefined && destinationSeq !== undefined) {
          // Destinations are never throttled: refusing one would drop an outcome that was already taken.
          targetLane.unfinished += 1;
          this.#enqueue(targetLane, destinationSeq);
        }
        if (dest?.kind === 'mqtt') this.#publishDestination({ ...final(), destinationPending: dest.topic }, dest.topic, call.event);
      },
      (error: unknown) => this.#logWriteFailure(record, error),
    );
    this.#inFlight.add(written);
    this.#finishing.set(record.seq, written);
    void written.finally(() => {
      this.#inFlight.delete(written);
      if (this.#finishing.get(record.seq) === written) this.#finishing.delete(record.seq);
    });
    return written;
  }

  #publishDestination(record: InvocationRecord, topic: string, event?: Buffer): void {
    const publish = this.#publish;
    if (publish === undefined || topic === '') return;
    const payload = destinationMessage(record, event ?? this.#store.event(record.seq));
    publish(topic, payload).then(
      () => this.#store.clearDestination(record.seq).catch((error: unknown) => this.#logWriteFailure(record, error)),
      // Stays pending on disk: the next start publishes it again (at least once).
      (error: unknown) => this.#logger.warn('destination publish failed; it is retried at the next start', { topic, requestId: record.requestId, error: String(error) }),
    );
  }

  async #prune(): Promise<void> {
    try {
      const deleted = await this.#store.prune(this.#now(), this.#retention.maxAgeMs, this.#retention.maxRecords);
      if (deleted > 0) this.#logger.debug('pruned finished Async records', { deleted });
    } catch (error) {
      this.#logger.warn('could not prune Async records', { error: String(error) });
    }
  }

  #logWriteFailure(record: InvocationRecord, error: unknown): void {
    this.#logger.error('could not write an Async record', { requestId: record.requestId, error: String(error) });
  }
}

function finish(state: FinishFields['state'], now: number, fields: Partial<FinishFields> & { error?: WireError | undefined }): FinishFields {
  return {
    state,
    finishedAt: now,
    durationMs: fields.durationMs,
    result: fields.result,
    resultBinary: fields.resultBinary ?? false,
    error: fields.error,
    logTail: fields.logTail ?? [],
    destinationPending: undefined,
  };
}
