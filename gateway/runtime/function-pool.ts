/**
 * The instances of one function, and the queue in front of them. Runtime-agnostic: it only
 * knows the Runtime / FunctionInstance contract (types.ts).
 *
 * One p-queue per function, concurrency = maxInstances × instanceConcurrency, so every task the
 * queue starts is guaranteed a slot on some instance, existing or to be started. Calls past
 * `maxQueueLength` waiting ones are refused at once with ResourceThrottled: the queue never
 * grows without bound, and a caller learns it is busy in microseconds instead of at its deadline.
 */
import PQueue from 'p-queue';
import {
  DeadlineExceededError,
  ResourceThrottledError,
  ServiceUnavailableError,
  UnhandledInvocationError,
  toEdgeFCError,
  type EdgeFCError,
} from 'edgefc/errors';
import type { MemoryBudget } from './memory-budget.js';
import type { FunctionInstance, InstanceConfig, Invocation, InvocationResult, Runtime } from './types.js';

/** How long before the caller's deadline a call still waiting for its instance's start is answered (#startInTime): time for the reply to reach it. */
const START_ANSWER_MARGIN_MS = 300;
/** Budgets shorter than this wait for the start as before: too short for a start to be judged. */
const START_ANSWER_MIN_BUDGET_MS = 2_000;

/**
 * While calls wait for a slot, how often to look again at instances whose own inFlight we
 * cannot observe changing. 20 ms: small next to a liveness probe (100 ms), and it only runs
 * while every slot is taken.
 */
const SLOT_RECHECK_MS = 20;

/**
 * An instance that has run no call for this long is stopped (its pre-stop hook runs first), so
 * a function called once an hour does not hold a process all hour. FC keeps idle instances for
 * a few minutes; 300 s is the template's default (instanceLifecycleConfig.idleTimeout).
 */
export const DEFAULT_IDLE_TIMEOUT_MS = 300_000;

/**
 * How often a pool with provisioned instances (minInstances) looks for dead ones to replace.
 * 1 s: a killed instance is back within about a second plus its start, and the check is a walk
 * over at most 64 map entries.
 */
const PROVISION_CHECK_MS = 1_000;
/** A failed provisioned start is retried after 1 s, doubling up to 30 s: a broken function does not spin. */
const PROVISION_RETRY_MIN_MS = 1_000;
const PROVISION_RETRY_MAX_MS = 30_000;

export interface FunctionPoolOptions {
  /** Clock for deadline checks and idle times. @default Date.now */
  now?: () => number;
  /**
   * Told when starting a provisioned instance failed and when it is tried again; the pool
   * never throws for it.
   * @default nothing
   */
  onProvisionError?: (error: EdgeFCError, retryInMs: number) => void;
  /**
   * The gateway's memory budget (memory-budget.ts): the pool claims max(instances,
   * minInstances) × memorySize, and starts an on-demand instance only if that still fits.
   * @default no budget
   */
  budget?: MemoryBudget;
}

export interface FunctionPoolStats {
  /** Calls waiting for a slot. */
  queued: number;
  /** Calls holding a slot (starting an instance, initializing, or running). */
  running: number;
  /** Live instances, plus those being started. */
  instances: number;
  /** Instances the pool keeps warm (the function's minInstances). */
  provisioned: number;
  /** Live instances running no call. */
  idle: number;
  completed: number;
  failed: number;
  throttled: number;
}

export interface CloseOptions {
  /**
   * How long calls in flight may run on before their instances are stopped (they then fail
   * with ServiceUnavailable).
   * @default 5_000
   */
  graceMs?: number;
}

export class FunctionPool {
  readonly #runtime: Runtime;
  readonly #config: InstanceConfig;
  readonly #now: () => number;
  readonly #queue: PQueue;
  /** Calls each instance is running for us. Our own count, not `instance.inFlight`, so a slot is taken synchronously. */
  readonly #leases = new Map<FunctionInstance, number>();
  #starting = 0;
  /** Tasks the queue has started and that have not finished. */
  #active = 0;
  /** Resolved (and replaced) whenever a slot may have come free: a lease ended or a start settled. */
  #slotChanged = signal();
  #closing: Promise<void> | undefined;
  /** Set by retire(): no new calls; those accepted still run. */
  #retiring = false;
  #retired: Promise<void> | undefined;
  /** When each instance last finished a call (or started), for the idle reaper. */
  readonly #lastUsed = new Map<FunctionInstance, number>();
  /** Instances reaped and still stopping: close() waits for them. */
  readonly #reaping = new Set<Promise<void>>();
  #reaper: NodeJS.Timeout | undefined;
  /** close() has finished: every instance is stopped. */
  #closed = false;
  #completed = 0;
  #failed = 0;
  #throttled = 0;
  readonly #budget: MemoryBudget | undefined;
  readonly #onProvisionError: ((error: EdgeFCError, retryInMs: number) => void) | undefined;
  /** Runs while minInstances > 0 and the pool is open: replaces dead provisioned instances. */
  #keeper: NodeJS.Timeout | undefined;
  /** Failed provisioned starts in a row, and when the next may be tried. */
  #provisionFailures = 0;
  #provisionNotBefore = 0;
  /** Provisioned starts in progress: close() waits for them, so none outlives the pool. */
  readonly #provisioning = new Set<Promise<void>>();

  constructor(runtime: Runtime, config: InstanceConfig, options: FunctionPoolOptions = {}) {
    this.#runtime = runtime;
    this.#config = config;
    this.#now = options.now ?? Date.now;
    this.#onProvisionError = options.onProvisionError;
    this.#budget = options.budget;
    this.#claimMemory();
    const { maxInstances, instanceConcurrency } = config.fn;
    this.#queue = new PQueue({ concurrency: Math.max(1, maxInstances * instanceConcurrency) });
  }

  /** Like submit(), but a refusal comes as a rejected promise. */
  invoke(invocation: Invocation): Promise<InvocationResult> {
    try {
      return this.submit(invocation);
    } catch (error) {
      return Promise.reject(toEdgeFCError(error));
    }
  }

  /**
   * Queue one call. A call refused at once (shutting down, deadline already passed, queue full)
   * throws here, synchronously, so the caller knows it was never accepted: an Async "accepted"
   * reply is only sent for calls that are really queued. The promise is the run's outcome.
   */
  submit(invocation: Invocation): Promise<InvocationResult> {
    const { requestId } = invocation;
    if (this.#closing !== undefined || this.#retiring) {
      this.#failed += 1;
      throw new ServiceUnavailableError(`${this.#label} is shutting down`, { requestId });
    }
    if (invocation.deadline <= this.#now()) {
      this.#failed += 1;
      throw this.#deadlineExceeded(requestId);
    }
    // p-queue starts a task synchronously when a slot is free, so only a call that would wait
    // counts against maxQueueLength (0 means: run now or be refused).
    // Our own count of running tasks: p-queue's `pending` drops a microtask after a task ends.
    const wouldWait = this.#queue.size > 0 || this.#active >= this.#queue.concurrency;
    if (wouldWait && this.#queue.size >= this.#config.fn.maxQueueLength) {
      this.#throttled += 1;
      throw new ResourceThrottledError(
        `${this.#label} has ${this.#queue.size} calls waiting (maxQueueLength ${this.#config.fn.maxQueueLength}); retry later`,
        { requestId },
      );
    }
    // A function with no instance, none coming and no room in the memory budget for one: refused
    // here, before it is accepted (an Async call then stays stored and is offered again later).
    if (this.#active === 0 && this.#queue.size === 0 && this.#leases.size + this.#starting === 0 && !this.#budgetFits(1)) {
      this.#throttled += 1;
      throw this.#overBudget(requestId);
    }
    const task = this.#queue.add(() => this.#run(invocation));
    return task.then(
      (result) => {
        this.#completed += 1;
        return result;
      },
      (err: unknown) => {
        this.#failed += 1;
        throw toEdgeFCError(err);
      },
    );
  }

  /**
   * Start the provisioned instances (minInstances) and keep them: in the background, so a slow
   * start holds neither the caller nor other functions; a failed start is reported to
   * onProvisionError and retried with back-off; one that dies is replaced. Idempotent; no-op
   * without minInstances.
   */
  provision(): void {
    if (this.#minInstances === 0 || this.#keeper !== undefined || this.#closing !== undefined || this.#retiring) return;
    this.#keeper = setInterval(() => this.#topUp(), PROVISION_CHECK_MS);
    this.#keeper.unref();
    this.#topUp();
  }

  stats(): FunctionPoolStats {
    this.#dropUnusable();
    let idle = 0;
    for (const [instance, leases] of this.#leases) if (instance.usable && leases <= 0 && instance.inFlight === 0) idle += 1;
    return {
      queued: this.#queue.size,
      running: this.#queue.pending,
      instances: this.#leases.size + this.#starting,
      provisioned: this.#minInstances,
      idle,
      completed: this.#completed,
      failed: this.#failed,
      throttled: this.#throttled,
    };
  }

  /**
   * Refuse new calls, give those in flight up to `graceMs`, then stop every instance. Calls
   * still queued fail with ServiceUnavailable without running. Idempotent.
   */
  close(options: CloseOptions = {}): Promise<void> {
    this.#closing ??= this.#close(options.graceMs ?? 5_000);
    return this.#closing;
  }

  /**
   * For a redeploy: refuse new calls, let every call already accepted run to its end (queued
   * ones too: they were accepted), then stop the instances as close() does. Idempotent.
   */
  retire(): Promise<void> {
    if (this.#retired === undefined) {
      this.#retiring = true;
      this.#stopKeeper();
      this.#retired = this.#queue.onIdle().then(() => this.close({ graceMs: 0 }));
    }
    return this.#retired;
  }

  get #idleTimeoutMs(): number {
    return this.#config.fn.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
  }

  get #minInstances(): number {
    return Math.min(this.#config.fn.minInstances ?? 0, this.#config.fn.maxInstances);
  }

  get #label(): string {
    return `${this.#config.fn.serviceName}/${this.#config.fn.name}`;
  }

  async #close(graceMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.#queue.onIdle(),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, graceMs);
      }),
    ]);
    clearTimeout(timer);
    this.#stopReaper();
    this.#stopKeeper();
    await this.#stopAll();
    // Queued tasks now start, see #closing and fail; starts still in progress settle.
    await this.#queue.onIdle();
    await this.#stopAll();
    await Promise.all([...this.#provisioning]);
    await Promise.all([...this.#reaping]);
    this.#closed = true;
    this.#claimMemory();
  }

  async #stopAll(): Promise<void> {
    const instances = [...this.#leases.keys()];
    await Promise.all(instances.map((instance) => instance.stop()));
  }

  async #run(invocation: Invocation): Promise<InvocationResult> {
    this.#active += 1;
    try {
      return await this.#runStarted(invocation);
    } finally {
      this.#active -= 1;
    }
  }

  async #runStarted(invocation: Invocation): Promise<InvocationResult> {
    const { requestId } = invocation;
    if (this.#closing !== undefined) {
      throw new ServiceUnavailableError(`${this.#label} is shutting down`, { requestId });
    }
    // It may have waited in the queue past its deadline: do not start work nobody waits for.
    if (invocation.deadline <= this.#now()) throw this.#deadlineExceeded(requestId);
    const { signal } = invocation;
    if (signal?.aborted === true) throw toEdgeFCError(signal.reason);
    const instance = await this.#acquire(invocation);
    try {
      if (signal === undefined) return await instance.invoke(invocation);
      return await this.#invokeStoppable(instance, invocation, signal);
    } finally {
      this.#release(instance);
    }
  }

  /**
   * Run a call that may be stopped (§9.6a). No runtime can take back a call it has begun, so a
   * stop fails the call at once with the signal's reason and stops the instance running it
   * (SIGKILL of its group after the usual grace; no pre-stop): with instanceConcurrency > 1 its
   * other calls fail with ServiceUnavailable too (an Async one is retried). The next call starts
   * a fresh instance.
   */
  #invokeStoppable(instance: FunctionInstance, invocation: Invocation, signal: AbortSignal): Promise<InvocationResult> {
    if (signal.aborted) return Promise.reject(toEdgeFCError(signal.reason));
    return new Promise<InvocationResult>((resolve, reject) => {
      const onAbort = (): void => {
        reject(toEdgeFCError(signal.reason));
        void instance.stop();
      };
      signal.addEventListener('abort', onAbort, { once: true });
      instance.invoke(invocation).then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
    });
  }

  /** A usable instance with a free slot, started if needed. The slot is taken before returning. */
  async #acquire(invocation: Invocation): Promise<FunctionInstance> {
    const { requestId, deadline } = invocation;
    const { maxInstances, instanceConcurrency } = this.#config.fn;
    for (;;) {
      if (this.#closing !== undefined) {
        throw new ServiceUnavailableError(`${this.#label} is shutting down`, { requestId });
      }
      this.#dropUnusable();
      for (const [instance, leases] of this.#leases) {
        // Both counts: ours is taken synchronously; the instance's may include work we no longer
        // track (a timed-out call whose instance is being checked for liveness).
        if (instance.usable && leases < instanceConcurrency && instance.inFlight < instanceConcurrency) {
          this.#leases.set(instance, leases + 1);
          return instance;
        }
      }
      const count = this.#leases.size + this.#starting;
      if (count < maxInstances) {
        if (this.#budgetFits(count + 1)) {
          invocation.coldStart = true;
          return this.#startInTime(requestId, deadline);
        }
        // Over the memory budget: wait for one of our own instances, or, with none, refuse.
        if (count === 0) {
          this.#throttled += 1;
          throw this.#overBudget(requestId);
        }
      }
      // Every instance is busy and the max are running or starting; a slot frees when a call
      // ends or a start settles (the queue's concurrency guarantees one will), or when an
      // instance's own inFlight drops, which it does not tell us about: hence the re-check.
      await this.#waitForSlot();
    }
  }

  /**
   * #start, but a caller who gave a budget of START_ANSWER_MIN_BUDGET_MS or more hears back
   * START_ANSWER_MARGIN_MS before its deadline if the instance is still starting then
   * (`FunctionNotStarted`), instead of the start's own error after the caller has given up: a
   * start timeout (10 s) must not hide behind the CLI's default timeout (also 10 s). The start
   * goes on; the instance it makes serves the next call.
   */
  #startInTime(requestId: string, deadline: number): Promise<FunctionInstance> {
    const starting = this.#start(requestId);
    const startedAt = this.#now();
    const answerIn = deadline - START_ANSWER_MARGIN_MS - startedAt;
    if (!Number.isFinite(deadline) || deadline - startedAt < START_ANSWER_MIN_BUDGET_MS) return starting;
    return new Promise<FunctionInstance>((resolve, reject) => {
      let answered = false;
      const timer = setTimeout(() => {
        answered = true;
        reject(new UnhandledInvocationError(
          {
            errorType: 'FunctionNotStarted',
            errorMessage: `${this.#label}: its instance has been starting for ${this.#now() - startedAt} ms and is not ready before the caller's deadline; the start goes on (its outcome is in the function's log)`,
          },
          { requestId },
        ));
      }, answerIn);
      starting.then(
        (instance) => {
          clearTimeout(timer);
          if (!answered) resolve(instance);
          else this.#release(instance);
        },
        (error: unknown) => {
          clearTimeout(timer);
          if (!answered) reject(toEdgeFCError(error));
        },
      );
    });
  }

  async #start(requestId: string): Promise<FunctionInstance> {
    this.#starting += 1;
    this.#claimMemory();
    try {
      const instance = await this.#runtime.startInstance(this.#config);
      if (this.#closing !== undefined) {
        await instance.stop();
        throw new ServiceUnavailableError(`${this.#label} is shutting down`, { requestId });
      }
      this.#leases.set(instance, 1);
      this.#lastUsed.set(instance, this.#now());
      this.#startReaper();
      return instance;
    } catch (err) {
      // Spawn failures come typed from the runtime (ServiceUnavailable, UnhandledInvocationError
      // for a handler that does not load); anything else becomes InternalError.
      throw toEdgeFCError(err);
    } finally {
      this.#starting -= 1;
      this.#claimMemory();
      this.#signalSlot();
    }
  }

  /** Start as many instances as the provisioned ones missing, unless a failed start is backing off. */
  #topUp(): void {
    if (this.#closing !== undefined || this.#retiring) return;
    this.#dropUnusable();
    if (this.#now() < this.#provisionNotBefore) return;
    let live = this.#starting;
    for (const instance of this.#leases.keys()) if (instance.usable) live += 1;
    // Dying instances still hold their slot under maxInstances until their last call ends.
    const room = this.#config.fn.maxInstances - this.#leases.size - this.#starting;
    const missing = Math.min(this.#minInstances - live, room);
    for (let i = 0; i < missing; i += 1) {
      const started = this.#startProvisioned().finally(() => this.#provisioning.delete(started));
      this.#provisioning.add(started);
    }
  }

  async #startProvisioned(): Promise<void> {
    try {
      const instance = await this.#start('provision');
      this.#provisionFailures = 0;
      // #start leased it for a caller; nobody waits for this one.
      this.#release(instance);
    } catch (error) {
      if (this.#closing !== undefined || this.#retiring) return;
      const retryInMs = Math.min(PROVISION_RETRY_MAX_MS, PROVISION_RETRY_MIN_MS * 2 ** this.#provisionFailures);
      this.#provisionFailures += 1;
      this.#provisionNotBefore = this.#now() + retryInMs;
      this.#onProvisionError?.(toEdgeFCError(error), retryInMs);
    }
  }

  #stopKeeper(): void {
    clearInterval(this.#keeper);
    this.#keeper = undefined;
  }

  #release(instance: FunctionInstance): void {
    const leases = this.#leases.get(instance);
    if (leases !== undefined) this.#leases.set(instance, leases - 1);
    this.#lastUsed.set(instance, this.#now());
    this.#dropUnusable();
    this.#signalSlot();
  }

  /**
   * Forget instances that died or are stopping once their last call has ended; until then they
   * still count against maxInstances, so a dying instance and its replacement never exceed it.
   */
  #dropUnusable(): void {
    for (const [instance, leases] of this.#leases) {
      if (!instance.usable && leases <= 0) {
        this.#leases.delete(instance);
        this.#lastUsed.delete(instance);
        void instance.stop();
      }
    }
    if (this.#leases.size === 0) this.#stopReaper();
    this.#claimMemory();
  }

  /** Whether `instances` instances of this function fit in the memory budget with everyone else's. */
  #budgetFits(instances: number): boolean {
    if (this.#budget === undefined) return true;
    return this.#budget.fits(this, Math.max(instances, this.#minInstances) * this.#config.fn.memorySizeMB);
  }

  /**
   * Our share of the memory budget: every instance we hold (stopping ones too, until dropped),
   * and never less than the provisioned ones while we keep them; nothing once closed.
   */
  #claimMemory(): void {
    if (this.#budget === undefined) return;
    const held = this.#leases.size + this.#starting + this.#reaping.size;
    const kept = this.#closing !== undefined || this.#retiring ? 0 : this.#minInstances;
    this.#budget.claim(this, this.#closed ? 0 : Math.max(held, kept) * this.#config.fn.memorySizeMB);
  }

  /**
   * Checks for idle instances a few times per idleTimeout (a quarter of it, between 100 ms and
   * 30 s), so an instance lives at most 1.25 × idleTimeout past its last call. Runs only while
   * the pool has instances, and never keeps the process alive.
   */
  #startReaper(): void {
    if (this.#reaper !== undefined || this.#closing !== undefined) return;
    const every = Math.min(30_000, Math.max(100, Math.floor(this.#idleTimeoutMs / 4)));
    this.#reaper = setInterval(() => this.#reapIdle(), every);
    this.#reaper.unref();
  }

  #stopReaper(): void {
    clearInterval(this.#reaper);
    this.#reaper = undefined;
  }

  /**
   * Stop instances with no call for idleTimeout; stop() runs their pre-stop hook. The
   * provisioned ones (minInstances) are kept: only instances above the minimum are reaped.
   */
  #reapIdle(): void {
    if (this.#closing !== undefined) return;
    const now = this.#now();
    let usable = 0;
    for (const instance of this.#leases.keys()) if (instance.usable) usable += 1;
    for (const [instance, leases] of this.#leases) {
      if (usable <= this.#minInstances && !this.#retiring) break;
      const idleSince = this.#lastUsed.get(instance) ?? now;
      if (leases > 0 || instance.inFlight > 0 || now - idleSince < this.#idleTimeoutMs) continue;
      if (instance.usable) usable -= 1;
      // Out of the table first, synchronously: #acquire can no longer hand it a call.
      this.#leases.delete(instance);
      this.#lastUsed.delete(instance);
      const stopping = instance.stop().finally(() => {
        this.#reaping.delete(stopping);
        this.#claimMemory();
      });
      this.#reaping.add(stopping);
    }
    if (this.#leases.size === 0) this.#stopReaper();
    this.#claimMemory();
    this.#signalSlot();
  }

  async #waitForSlot(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.#slotChanged.promise,
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, SLOT_RECHECK_MS);
      }),
    ]);
    clearTimeout(timer);
  }

  #signalSlot(): void {
    this.#slotChanged.resolve();
    this.#slotChanged = signal();
  }

  #overBudget(requestId: string): ResourceThrottledError {
    return new ResourceThrottledError(
      `${this.#label} cannot start an instance: ${this.#config.fn.memorySizeMB} MB more would exceed the gateway's memory budget (${this.#budget?.usedMB ?? 0} of ${this.#budget?.totalMB ?? 0} MB in use); retry later`,
      { requestId },
    );
  }

  #deadlineExceeded(requestId: string): DeadlineExceededError {
    return new DeadlineExceededError(`the caller's deadline passed before ${this.#label} could start the call`, {
      requestId,
    });
  }
}

/** Promise.withResolvers() is Node 22+; this is the one shape we need. */
function signal(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}
