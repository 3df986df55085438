/**
 * One instance of a Node.js function: a child process running child/runner.ts.
 *
 * Why a child process per instance, and not a worker thread (measured on our edge boxes):
 * - a worker's `resourceLimits` cap its JS heap but not Buffers: a worker capped at 64 MB
 *   allocated 1 GB; a process can be watched (RSS from /proc) and killed as a whole;
 * - `worker.terminate()` waits for a blocking call such as `execSync` to return, while SIGKILL
 *   ends a process in 1–3 ms, and killing its process group also ends what it spawned;
 * - the price is small: a call's round trip to the process (child/function-channel.ts) costs a
 *   few tens of µs more than a worker's postMessage (~71 against ~49 µs when this was chosen, on
 *   Node's IPC channel; the socket pair is cheaper still), and a spawn ~65 ms, paid once since
 *   instances stay warm between calls, and mostly before the first call: an instance usually
 *   starts from a pre-forked spare (spare-processes.ts).
 *
 * Every call owns a timer for min(deadline - now, timeout). When it fires the call fails with
 * FunctionTimeout at once; the child is told to abort the call's `context.signal`, then pinged:
 * an instance that cannot answer within `livenessTimeoutMs` has a blocked event loop and is
 * killed (its other calls fail); one that answers keeps running and the late reply is dropped.
 */
import type { ChildProcess } from 'node:child_process';
import {
  DeadlineExceededError,
  FunctionTimeoutError,
  HandledInvocationError,
  InitializationError,
  InitializationTimeoutError,
  ServiceUnavailableError,
  UnhandledInvocationError,
} from 'edgefc/errors';
import type { EdgeFCError, FunctionErrorFields } from 'edgefc/errors';
import type { FunctionLogLevel } from '../../logging/function-log.js';
import type { FunctionInstance, InstanceConfig, Invocation, InvocationResult } from '../types.js';
import { ChildMessageType, ParentMessageType, isChildMessage } from './child/ipc-messages.js';
import { IpcBatcher } from './child/ipc-batch.js';
import type { ChildMessage, LoadMessage, ParentMessage } from './child/ipc-messages.js';
import type { FunctionChannel } from './child/function-channel.js';
import { forkRunner, type RunnerProcess } from './fork-runner.js';
import type { TakenSpare } from './spare-processes.js';
import { LineSplitter, capLogLine } from '../process/log-lines.js';
import { MemoryWatchdog } from '../process/memory-watchdog.js';
import { killProcessGroup } from '../process/process-tree.js';
import { framed, writeFrame } from '../process/invocation-frames.js';
import { InvocationGate, instanceName } from '../process/invocation-gate.js';

export interface NodeInstanceOptions {
  id: string;
  runnerPath: string;
  runtimeModulesDir: string;
  /** The function's environment (child-env.ts childEnv). */
  env: Record<string, string>;
  /**
   * A pre-forked spare process to become this instance instead of a fork (spare-processes.ts):
   * it gets `env` and the code directory in its `load` message.
   */
  spare?: TakenSpare;
  /** Bound on fork + module load until `ready`. */
  startTimeoutMs: number;
  /** How long a pinged instance has to answer before it counts as stuck. */
  livenessTimeoutMs: number;
  /** How long `stop()` lets the child exit by itself before SIGKILL. */
  stopGraceMs: number;
  watchdogIntervalMs: number;
  now: () => number;
  /** Called once the process exists, with its pid. */
  onSpawn?: (pid: number) => void;
}

/** errorType values of UnhandledInvocationError raised by the instance itself (docs/runtime-node.md). */
export const InstanceErrorType = {
  MemoryLimitExceeded: 'MemoryLimitExceeded',
  ProcessExited: 'ProcessExited',
  InstanceUnresponsive: 'InstanceUnresponsive',
} as const;

/** Builds the error a call gets when the instance fails under it; each call gets its own object. */
type FailureReason = (requestId: string) => EdgeFCError;

interface PendingCall {
  requestId: string;
  resolve: (result: InvocationResult) => void;
  reject: (error: EdgeFCError) => void;
  timer: NodeJS.Timeout;
}

interface InitWaiter {
  requestId: string;
  resolve: () => void;
  reject: (error: EdgeFCError) => void;
}

interface InitRun {
  id: number;
  /** The call that triggered the run: its frame lines carry this ID (FC's Initialize Start/End). */
  requestId: string;
  waiters: InitWaiter[];
  timer: NodeJS.Timeout;
}

/**
 * A result's bytes in memory of their own. The channel's decoder (child/channel-codec.ts) hands
 * them back as a view into the whole read they came in, which holds the other messages of the
 * batch too (the call's log lines), and Sync replay keeps outcomes (docs/protocol.md §10.2: up
 * to 1,000 for 5 minutes, counted by their own length): each 14-byte result held a ~280 KB
 * read. Measured (on Node's IPC channel, which did the same), calls logging 1 MiB each back to
 * back: the gateway's ArrayBuffers grew to 780 MB in 15 s, still 780 MB after a full GC (RSS
 * 908 MB); with the copy 10-25 MB (RSS ~170 MB). A view that is most of its backing store is
 * kept as it is: copying a 6 MiB result costs ~1 ms.
 */
function ownBytes(bytes: Uint8Array): Buffer {
  const view = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return view.byteLength * 2 >= view.buffer.byteLength ? view : Buffer.from(view);
}

/**
 * After 'exit', how long to wait for 'close' (stdio and the channel drained) before finishing
 * anyway; after the channel closed, how long the process may take to exit before it is stopped.
 */
const CLOSE_AFTER_EXIT_MS = 1000;

export class NodeInstance implements FunctionInstance {
  readonly id: string;
  readonly #config: InstanceConfig;
  readonly #options: NodeInstanceOptions;
  readonly #child: ChildProcess | undefined;
  readonly #channel: FunctionChannel<ParentMessage> | undefined;
  readonly #pending = new Map<number, PendingCall>();
  readonly #closed: Promise<void>;
  #markClosed!: () => void;
  #nextCallId = 0;
  #nextNonce = 0;
  #nextInitId = 0;
  readonly #name: string;
  readonly #gate: InvocationGate;
  #ready = false;
  #initialized: boolean;
  #init: InitRun | undefined;
  #probe: { nonce: number; timer: NodeJS.Timeout } | undefined;
  #startWaiter: { resolve: () => void; reject: (error: EdgeFCError) => void; timer: NodeJS.Timeout } | undefined;
  #failure: FailureReason | undefined;
  #crashReport: FunctionErrorFields | undefined;
  /** Told when the child answers `pre-stop`. */
  #preStopDone: ((error: FunctionErrorFields | undefined) => void) | undefined;
  #heapExhausted = false;
  #exited = false;
  #stopping: Promise<void> | undefined;
  #watchdog: MemoryWatchdog | undefined;
  /** Messages to the child, coalesced per event-loop turn (child/ipc-batch.ts). */
  readonly #outbox = new IpcBatcher<ParentMessage>((payload, callback) => {
    const channel = this.#channel;
    if (channel === undefined) callback(new Error('the function channel is closed'));
    else channel.send(payload, callback);
  });
  readonly #onSent = (err: Error | null): void => {
    if (err !== null) this.#lostChannel(err);
  };

  /** Fork, load the handler and wait for `ready`. Rejects typed; never leaves a process behind. */
  static async start(config: InstanceConfig, options: NodeInstanceOptions): Promise<NodeInstance> {
    const instance = new NodeInstance(config, options);
    try {
      await instance.#waitReady();
    } catch (err) {
      await instance.stop();
      throw err;
    }
    return instance;
  }

  private constructor(config: InstanceConfig, options: NodeInstanceOptions) {
    this.id = options.id;
    this.#name = instanceName(config, options.id);
    this.#gate = new InvocationGate(this.#name);
    this.#config = config;
    this.#options = options;
    this.#initialized = config.fn.initializer === undefined;
    this.#closed = new Promise((resolve) => {
      this.#markClosed = resolve;
    });
    const { fn } = config;
    let runner: RunnerProcess;
    try {
      runner =
        options.spare ??
        forkRunner({
          runnerPath: options.runnerPath,
          cwd: fn.codeDir,
          env: options.env,
          memorySizeMB: fn.memorySizeMB,
          ...(fn.runAs === undefined ? {} : { user: fn.runAs }),
        });
    } catch (err) {
      // spawn() throws synchronously only for bad arguments; treat as a failed spawn.
      this.#child = undefined;
      this.#channel = undefined;
      this.#fail(() => new ServiceUnavailableError(`could not start ${this.#name}: ${String(err)}`, { cause: err }));
      this.#markClosed();
      return;
    }
    const { child, channel } = runner;
    this.#child = child;
    this.#channel = channel;
    this.#wire(child, channel);
    if (child.pid !== undefined) {
      options.onSpawn?.(child.pid);
      this.#watchdog = new MemoryWatchdog(
        child.pid,
        fn.memorySizeMB * 1024 * 1024,
        (rss) => this.#onMemoryExceeded(rss),
        options.watchdogIntervalMs,
      );
    }
  }

  /**
   * Calls running, plus one while a liveness probe is out: after a timeout the abandoned call
   * may still hold the event loop, and the pool should not send more work until the child
   * proves it is responsive (or is killed).
   */
  get inFlight(): number {
    return this.#gate.inFlight + (this.#probe === undefined ? 0 : 1);
  }

  get usable(): boolean {
    return this.#ready && this.#failure === undefined && this.#stopping === undefined;
  }

  /** Settles once the process is gone and its output drained. */
  get closed(): Promise<void> {
    return this.#closed;
  }

  /** OS pid of the instance (its process group id too); undefined if the spawn failed. */
  get pid(): number | undefined {
    return this.#child?.pid;
  }

  invoke(invocation: Invocation): Promise<InvocationResult> {
    return this.#gate.pass(this.usable, this.#failure, invocation.requestId, () => this.#run(invocation));
  }

  /**
   * Calls in flight fail with ServiceUnavailable; a healthy instance runs its preStop hook (at
   * most its timeout); then ask the child to exit, SIGKILL its process group after
   * `stopGraceMs`, and wait until it is gone. Idempotent.
   */
  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<void> {
    // A liveness probe still out means a call just timed out and the event loop may be stuck:
    // it would not read `shutdown`, so the grace period would only be wasted.
    const suspectedStuck = this.#probe !== undefined;
    const healthy = this.#ready && this.#failure === undefined && !suspectedStuck;
    this.#fail((requestId) => new ServiceUnavailableError(`${this.#name} was stopped`, { requestId }));
    if (this.#child === undefined) return;
    if (!this.#exited && !suspectedStuck) {
      const preStop = this.#config.fn.preStop;
      if (healthy && preStop !== undefined) await this.#preStop(preStop.timeoutMs);
      this.#send({ type: ParentMessageType.shutdown });
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        this.#closed,
        new Promise<void>((resolve) => {
          timer = setTimeout(resolve, this.#options.stopGraceMs);
        }),
      ]);
      clearTimeout(timer);
    }
    // Even after a clean exit: the function may have left children in its group.
    this.#kill();
    await this.#closed;
  }

  async #run(invocation: Invocation): Promise<InvocationResult> {
    const { requestId } = invocation;
    const { now } = this.#options;
    if (invocation.deadline <= now()) throw this.#deadlineExceeded(requestId);
    if (!this.#initialized) await this.#initialize(requestId);
    // Time spent in the initializer counts against the caller's deadline, not the function timeout.
    const budget = Math.min(invocation.deadline - now(), this.#config.fn.timeoutMs);
    if (budget <= 0) throw this.#deadlineExceeded(requestId);
    if (this.#failure !== undefined) throw this.#failure(requestId);
    return framed(this.#config, 'Invoke', requestId, () => this.#dispatchCall(invocation, budget));
  }

  #dispatchCall(invocation: Invocation, budget: number): Promise<InvocationResult> {
    const { requestId } = invocation;
    return new Promise<InvocationResult>((resolve, reject) => {
      this.#nextCallId += 1;
      const callId = this.#nextCallId;
      const timer = setTimeout(() => this.#onCallTimeout(callId, budget), budget);
      this.#pending.set(callId, { requestId, resolve, reject, timer });
      this.#send({
        type: ParentMessageType.invoke,
        callId,
        requestId,
        event: invocation.event,
        invokerContext: invocation.invokerContext,
        qualifier: invocation.qualifier,
        retryCount: invocation.retryCount ?? 0,
        ...(invocation.trace === undefined ? {} : { trace: invocation.trace }),
      });
    });
  }

  #deadlineExceeded(requestId: string): DeadlineExceededError {
    return new DeadlineExceededError(`the caller's deadline passed before ${this.#config.fn.name} could start`, {
      requestId,
    });
  }

  /** Runs the initializer once; concurrent first calls share one run. A failure lets the next call retry. */
  #initialize(requestId: string): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const waiter: InitWaiter = { requestId, resolve, reject };
      if (this.#init !== undefined) {
        this.#init.waiters.push(waiter);
        return;
      }
      this.#nextInitId += 1;
      const id = this.#nextInitId;
      const limit = this.#config.fn.initializationTimeoutMs;
      const timer = setTimeout(() => {
        this.#finishInit(id, (waiterId) =>
          new InitializationTimeoutError(
            {
              errorType: 'InitializationTimeout',
              errorMessage: `the initializer of ${this.#config.fn.name} ran past ${limit} ms`,
            },
            { requestId: waiterId },
          ),
        );
        // A stuck initializer (blocked event loop) takes the instance down; a merely slow one
        // leaves it up and the next call runs the initializer again.
        this.#probeLiveness(`its initializer ran past ${limit} ms`);
      }, limit);
      this.#init = { id, requestId, waiters: [waiter], timer };
      writeFrame(this.#config, 'Initialize', 'Start', requestId);
      this.#send({ type: ParentMessageType.init, initId: id, requestId });
    });
  }

  /** Settle the initializer run `id`: success when `failure` is undefined. Stale ids are ignored. */
  #finishInit(id: number, failure: FailureReason | undefined): void {
    const run = this.#init;
    if (run === undefined || run.id !== id) return;
    this.#init = undefined;
    clearTimeout(run.timer);
    writeFrame(this.#config, 'Initialize', 'End', run.requestId, failure === undefined ? {} : { failed: true, error: failure(run.requestId) });
    if (failure === undefined) this.#initialized = true;
    for (const waiter of run.waiters) {
      if (failure === undefined) waiter.resolve();
      else waiter.reject(failure(waiter.requestId));
    }
  }

  #onCallTimeout(callId: number, budget: number): void {
    const call = this.#pending.get(callId);
    if (call === undefined) return;
    this.#pending.delete(callId);
    const limitedBy = budget < this.#config.fn.timeoutMs ? "the caller's deadline" : 'the function timeout';
    const message = `${this.#config.fn.name} ran past ${budget} ms (${limitedBy})`;
    call.reject(new FunctionTimeoutError(message, { requestId: call.requestId }));
    this.#send({ type: ParentMessageType.abort, callId, message });
    this.#probeLiveness(`call ${call.requestId} timed out`);
  }

  /** Ping the child; no pong within `livenessTimeoutMs` means its event loop is stuck: kill it. */
  #probeLiveness(why: string): void {
    if (this.#probe !== undefined || this.#failure !== undefined) return;
    this.#nextNonce += 1;
    const nonce = this.#nextNonce;
    const limit = this.#options.livenessTimeoutMs;
    const timer = setTimeout(() => {
      this.#probe = undefined;
      this.#terminate(
        (requestId) =>
          new UnhandledInvocationError(
            {
              errorType: InstanceErrorType.InstanceUnresponsive,
              errorMessage: `${this.#name} was killed: ${why} and it did not answer a ping within ${limit} ms`,
            },
            { requestId },
          ),
      );
    }, limit);
    this.#probe = { nonce, timer };
    this.#send({ type: ParentMessageType.ping, nonce });
  }

  #onMemoryExceeded(rssBytes: number): void {
    const used = Math.round(rssBytes / (1024 * 1024));
    this.#terminate(
      (requestId) =>
        new UnhandledInvocationError(
          {
            errorType: InstanceErrorType.MemoryLimitExceeded,
            errorMessage: `${this.#config.fn.name} used ${used} MB, over its memorySize of ${this.#config.fn.memorySizeMB} MB; the instance was killed`,
          },
          { requestId },
        ),
    );
  }

  #waitReady(): Promise<void> {
    if (this.#failure !== undefined) return Promise.reject(this.#failure(''));
    return new Promise<void>((resolve, reject) => {
      const limit = this.#options.startTimeoutMs;
      const timer = setTimeout(() => {
        this.#terminate(() => new ServiceUnavailableError(`${this.#name} did not load its handler within ${limit} ms`));
      }, limit);
      this.#startWaiter = { resolve, reject, timer };
      // No pid: the spawn failed and 'error' is on its way; it settles the wait.
      if (this.#child?.pid === undefined) return;
      this.#send({
        type: ParentMessageType.load,
        spec: this.#config.fn,
        service: this.#config.service,
        identity: this.#config.identity,
        runtimeModulesDir: this.#options.runtimeModulesDir,
        ...(this.#config.maxLogBytesPerCall === undefined ? {} : { maxLogBytesPerCall: this.#config.maxLogBytesPerCall }),
        ...(this.#options.spare === undefined ? {} : { adopt: this.#adoption() }),
      });
    });
  }

  /** What a spare needs to become this instance: what fork() would have given it (child/adopt-function.ts). */
  #adoption(): NonNullable<LoadMessage['adopt']> {
    const { codeDir, runAs } = this.#config.fn;
    return { env: this.#options.env, cwd: codeDir, ...(runAs === undefined ? {} : { user: { uid: runAs.uid, gid: runAs.gid } }) };
  }

  #wire(child: ChildProcess, channel: FunctionChannel<ParentMessage>): void {
    channel.setHandlers({
      onMessage: (message) => this.#receive(message),
      onMalformed: (error) => this.#protocolViolation(error),
      // Its end closed: the process is exiting ('exit' says how, and fails the calls), or its own
      // code closed fd 3, and then no call can be answered: stopped if still alive a while later.
      onClose: (error) => {
        const check = setTimeout(() => {
          if (!this.#exited) this.#lostChannel(error ?? new Error('closed by the function process'));
        }, CLOSE_AFTER_EXIT_MS);
        check.unref();
      },
    });
    child.on('error', (err) => {
      // Spawn failure (ENOENT cwd, EAGAIN) or a failed send/kill. Without a pid there will be no
      // 'exit'/'close', so this is the end.
      this.#terminate((requestId) =>
        new ServiceUnavailableError(`${this.#name} failed: ${err.message}`, { requestId, cause: err }),
      );
      if (child.pid === undefined) this.#markClosed();
    });
    child.on('exit', (code, signal) => {
      this.#exited = true;
      this.#watchdog?.stop();
      // Its own exit or a crash: take down whatever it left running in its group, which also
      // releases the stdio pipes so 'close' can come.
      this.#kill();
      const closeFallback = setTimeout(() => this.#onClosed(code, signal), CLOSE_AFTER_EXIT_MS);
      closeFallback.unref();
      child.once('close', () => clearTimeout(closeFallback));
    });
    // 'close' comes after the channel and stdio are drained: every reply the child sent
    // before dying has been handled, so what is still pending really was lost.
    child.on('close', (code, signal) => this.#onClosed(code, signal));
    this.#pipeOutput(child.stdout, 'info');
    this.#pipeOutput(child.stderr, 'error');
  }

  #receive(message: unknown): void {
    if (!isChildMessage(message)) return;
    try {
      this.#onMessage(message);
    } catch (err) {
      // Function code can write to its fd 3 itself; a malformed message must not reach the
      // gateway's event loop as an exception.
      this.#protocolViolation(err);
    }
  }

  /** What the process sent cannot be what the runner sends: stop it, fail its calls. */
  #protocolViolation(err: unknown): void {
    this.#terminate(
      (requestId) =>
        new UnhandledInvocationError(
          { errorType: 'ProtocolViolation', errorMessage: `${this.#name} sent an unreadable message: ${err instanceof Error ? err.message : String(err)}` },
          { requestId },
        ),
    );
  }

  #pipeOutput(stream: NodeJS.ReadableStream | null, level: FunctionLogLevel): void {
    if (stream === null) return;
    const splitter = new LineSplitter((line) => {
      // V8's own report when --max-old-space-size is hit; the exit that follows is a memory kill.
      if (line.includes('JavaScript heap out of memory')) this.#heapExhausted = true;
      this.#log(this.#attributableRequestId(), level, line);
    });
    stream.on('data', (chunk: Buffer) => splitter.push(chunk));
    stream.on('end', () => splitter.end());
    stream.on('error', () => undefined);
  }

  /** Raw output belongs to a call only when exactly one is running; otherwise it is unattributed. */
  #attributableRequestId(): string {
    if (this.#pending.size !== 1) return '';
    const [only] = this.#pending.values();
    return only?.requestId ?? '';
  }

  /**
   * The function's preStop hook (instanceLifecycleConfig.preStop), at most `timeoutMs`; its
   * outcome only goes to the function's log: the instance stops either way.
   */
  async #preStop(timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([
      new Promise<string>((resolve) => {
        this.#preStopDone = (error) => resolve(error === undefined ? 'returned' : `failed: ${error.errorType}: ${error.errorMessage}`);
        this.#send({ type: ParentMessageType.preStop });
      }),
      this.#closed.then(() => 'ended with the process'),
      new Promise<string>((resolve) => {
        timer = setTimeout(() => resolve(`did not return within ${timeoutMs} ms`), timeoutMs);
      }),
    ]);
    clearTimeout(timer);
    this.#preStopDone = undefined;
    this.#log('', 'info', `pre-stop ${outcome}`);
  }

  #log(requestId: string, level: FunctionLogLevel, message: string, time = Date.now()): void {
    try {
      this.#config.onLog({
        time,
        serviceName: this.#config.fn.serviceName,
        functionName: this.#config.fn.name,
        requestId,
        level,
        message: capLogLine(message),
      });
    } catch {
      // A failing log sink must not take the instance or the gateway down.
    }
  }

  #onMessage(message: ChildMessage): void {
    switch (message.type) {
      case ChildMessageType.ready: {
        const waiter = this.#startWaiter;
        if (waiter === undefined) return;
        this.#startWaiter = undefined;
        clearTimeout(waiter.timer);
        this.#ready = true;
        waiter.resolve();
        return;
      }
      case ChildMessageType.loadFailed: {
        const fields = message.error;
        this.#terminate((requestId) =>
          message.unavailable === true
            ? new ServiceUnavailableError(`could not start ${this.#name}: ${fields.errorMessage}`, { requestId })
            : new UnhandledInvocationError(fields, { requestId }),
        );
        return;
      }
      case ChildMessageType.prepared:
        // A spare's answer to `prepare`, arriving after it was taken: nothing to do.
        return;
      case ChildMessageType.initDone:
        this.#finishInit(message.initId, undefined);
        return;
      case ChildMessageType.initFailed: {
        const fields = message.error;
        this.#finishInit(message.initId, (requestId) => new InitializationError(fields, { requestId }));
        return;
      }
      case ChildMessageType.result: {
        const call = this.#takeCall(message.callId);
        if (call === undefined) return;
        call.resolve({ payload: ownBytes(message.payload), binary: message.binary === true });
        return;
      }
      case ChildMessageType.error: {
        const call = this.#takeCall(message.callId);
        if (call === undefined) return;
        const options = { requestId: call.requestId };
        call.reject(
          message.handled
            ? new HandledInvocationError(message.error, options)
            : new UnhandledInvocationError(message.error, options),
        );
        return;
      }
      case ChildMessageType.log:
        this.#log(message.requestId, message.level, String(message.message), message.time);
        return;
      case ChildMessageType.logDropped:
        try {
          this.#config.onLogDropped?.(String(message.requestId), Number(message.bytes) || 0, Number(message.lines) || 0);
        } catch {
          // As for a line: a failing log sink must not take the instance or the gateway down.
        }
        return;
      case ChildMessageType.preStopDone:
        this.#preStopDone?.(message.error);
        return;
      case ChildMessageType.pong:
        if (this.#probe?.nonce === message.nonce) {
          clearTimeout(this.#probe.timer);
          this.#probe = undefined;
        }
        return;
      case ChildMessageType.crash: {
        const fields = message.error;
        this.#crashReport = fields;
        this.#terminate((requestId) => new UnhandledInvocationError(fields, { requestId }));
        return;
      }
    }
  }

  #takeCall(callId: number): PendingCall | undefined {
    const call = this.#pending.get(callId);
    if (call === undefined) return undefined; // timed out already: the late reply is dropped
    this.#pending.delete(callId);
    clearTimeout(call.timer);
    return call;
  }

  #onClosed(code: number | null, signal: NodeJS.Signals | null): void {
    if (this.#failure === undefined) {
      const crash = this.#crashReport;
      const heap = this.#heapExhausted;
      const how = signal === null ? `exit code ${String(code)}` : `signal ${signal}`;
      this.#fail((requestId) => {
        if (crash !== undefined) return new UnhandledInvocationError(crash, { requestId });
        if (heap) {
          return new UnhandledInvocationError(
            {
              errorType: InstanceErrorType.MemoryLimitExceeded,
              errorMessage: `${this.#config.fn.name} ran out of JavaScript heap (memorySize ${this.#config.fn.memorySizeMB} MB)`,
            },
            { requestId },
          );
        }
        return new UnhandledInvocationError(
          { errorType: InstanceErrorType.ProcessExited, errorMessage: `the function process exited (${how})` },
          { requestId },
        );
      });
    }
    this.#markClosed();
  }

  /** Mark the instance failed for good and fail everything waiting on it. Idempotent. */
  #fail(reason: FailureReason): void {
    if (this.#failure !== undefined) return;
    this.#failure = reason;
    this.#watchdog?.stop();
    if (this.#probe !== undefined) {
      clearTimeout(this.#probe.timer);
      this.#probe = undefined;
    }
    const start = this.#startWaiter;
    if (start !== undefined) {
      this.#startWaiter = undefined;
      clearTimeout(start.timer);
      start.reject(reason(''));
    }
    if (this.#init !== undefined) this.#finishInit(this.#init.id, reason);
    const calls = [...this.#pending.values()];
    this.#pending.clear();
    for (const call of calls) {
      clearTimeout(call.timer);
      call.reject(reason(call.requestId));
    }
  }

  #terminate(reason: FailureReason): void {
    this.#fail(reason);
    this.#kill();
  }

  #kill(): void {
    const pid = this.#child?.pid;
    if (pid !== undefined) killProcessGroup(pid);
  }

  /** Send to the child; a closed channel (EPIPE, child gone) fails the instance instead of throwing. */
  #send(message: ParentMessage): void {
    this.#outbox.send(message, this.#onSent);
  }

  #lostChannel(err: Error): void {
    const message = `lost the channel to ${this.#name}: ${err.message}`;
    this.#terminate((requestId) =>
      this.#ready
        ? new UnhandledInvocationError({ errorType: InstanceErrorType.ProcessExited, errorMessage: message }, { requestId })
        : new ServiceUnavailableError(message, { requestId, cause: err }),
    );
  }
}
