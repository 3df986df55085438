/**
 * One instance of a custom runtime function in web server mode: the function's own HTTP
 * server, started from its command with a free loopback port in FC_SERVER_PORT, called with
 * `POST /initialize` once and `POST /invoke` per call (FC's contract, docs/runtime-custom.md).
 *
 * Unlike a Node.js instance, a web server cannot be pinged over a side channel: a call that
 * times out may have left it spinning, or merely slow, and from outside the two look alike. So
 * a timeout retires the instance: it takes no new calls, and the pool stops it (SIGKILL of its
 * process group, no pre-stop) once its last call has ended. The next call gets a fresh one.
 */
import http from 'node:http';
import {
  FunctionTimeoutError,
  InitializationTimeoutError,
  ServiceUnavailableError,
  UnhandledInvocationError,
  errorFromWire,
  toEdgeFCError,
} from 'edgefc/errors';
import type { EdgeFCError } from 'edgefc/errors';
import { MAX_RESULT_BYTES } from 'edgefc/protocol';
import { FcHeader, fcRequestHeaders } from '../process/fc-headers.js';
import type { HeaderCall } from '../process/fc-headers.js';
import { webServerLaunch } from '../process/function-launch.js';
import { freeLoopbackPort, waitForPort } from '../process/loopback-port.js';
import { listeningPorts } from '../process/listening-ports.js';
import { NetNamespace, netNamespaceSupport } from './net-namespace.js';
import { ManagedProcess, describeExit } from '../process/managed-process.js';
import type { FunctionInstance, InstanceConfig, Invocation, InvocationResult } from '../types.js';
import { exchange, isExchangeFailure } from './http-exchange.js';
import type { HttpAnswer } from './http-exchange.js';
import { InstanceErrorType, deadlineExceeded, memoryExceeded, timeoutMessage } from '../process/instance-errors.js';
import type { FailureReason } from '../process/instance-errors.js';
import { initializeOutcome, invokeOutcome } from './web-answer.js';
import { framed } from '../process/invocation-frames.js';
import { InvocationGate, instanceName } from '../process/invocation-gate.js';

export interface ProcessInstanceOptions {
  id: string;
  startTimeoutMs: number;
  stopGraceMs: number;
  watchdogIntervalMs: number;
  now: () => number;
  onSpawn?: (pid: number) => void;
}

interface ActiveCall {
  requestId: string;
  fail: (error: EdgeFCError) => void;
}

/**
 * While a server starts, how often the ports its process tree listens on are read (/proc): a
 * server listening on another port than its own is reported within about this long.
 */
const WRONG_PORT_CHECK_MS = 500;

/**
 * After a connection error, how long to wait for the process's exit before calling it a
 * broken connection: the socket's reset usually arrives a few ms before the exit event.
 */
const EXIT_AFTER_RESET_MS = 200;

export class CustomWebInstance implements FunctionInstance {
  readonly id: string;
  readonly #config: InstanceConfig;
  readonly #options: ProcessInstanceOptions;
  readonly #port: number;
  /** Its own network namespace (a fixed port, customRuntimeConfig.port), reached through a Unix socket. */
  readonly #namespace: NetNamespace | undefined;
  readonly #process: ManagedProcess;
  readonly #agent: http.Agent;
  readonly #calls = new Set<ActiveCall>();
  readonly #name: string;
  readonly #gate: InvocationGate;
  #listening = false;
  #initialized: boolean;
  #init: Promise<EdgeFCError | undefined> | undefined;
  /** A call timed out on it: no new calls; stopped without pre-stop once idle. */
  #retired = false;
  #failure: FailureReason | undefined;
  #stopping: Promise<void> | undefined;

  static async start(config: InstanceConfig, options: ProcessInstanceOptions): Promise<CustomWebInstance> {
    // FC's port (CAPort) when the template sets one: every instance listens on it, in a network
    // namespace of its own where the gateway can make one; else the function runs one instance
    // (fixed-port.ts says so at deploy). Without it: a free loopback port per instance.
    const fixedPort = config.fn.customRuntimeConfig?.port;
    let namespace: NetNamespace | undefined;
    if (fixedPort !== undefined && netNamespaceSupport().ok) {
      try {
        namespace = await NetNamespace.create({ port: fixedPort, brokerUrl: config.brokerUrl });
      } catch (error) {
        throw new ServiceUnavailableError(`${instanceName(config, options.id)}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
      }
    }
    const port = fixedPort ?? (await freeLoopbackPort());
    const instance = new CustomWebInstance(config, options, port, namespace);
    try {
      await instance.#waitListening();
    } catch (err) {
      await instance.stop();
      throw err;
    }
    return instance;
  }

  private constructor(config: InstanceConfig, options: ProcessInstanceOptions, port: number, namespace: NetNamespace | undefined) {
    this.id = options.id;
    this.#name = instanceName(config, options.id);
    this.#gate = new InvocationGate(this.#name);
    this.#config = config;
    this.#options = options;
    this.#port = port;
    this.#namespace = namespace;
    this.#initialized = config.fn.initializer === undefined;
    // One socket per concurrent call, kept open between calls: a loopback connect costs
    // ~100 µs, and the server sees one long-lived connection per slot, as behind FC.
    this.#agent = new http.Agent({ keepAlive: true, maxSockets: config.fn.instanceConcurrency + 1 });
    this.#process = new ManagedProcess({
      ...webServerLaunch(config, options.id, port),
      config,
      watchdogIntervalMs: options.watchdogIntervalMs,
      attribute: () => this.#attribution(),
      onMemoryExceeded: (rss) => this.#fail(memoryExceeded(config.fn, rss)),
      ...(namespace === undefined ? {} : { netns: namespace.path }),
      ...(options.onSpawn === undefined ? {} : { onSpawn: options.onSpawn }),
    });
    // The namespace goes with the process (its forwarder is stopped, its sockets removed).
    void this.#process.closed.then(() => namespace?.close());
    void this.#process.exited.then((exit) => {
      const how = describeExit(exit);
      this.#fail((requestId) =>
        exit.spawnError !== undefined
          ? new ServiceUnavailableError(`${this.#name} ${how}`, { requestId, cause: exit.spawnError })
          : new UnhandledInvocationError(
              { errorType: InstanceErrorType.ProcessExited, errorMessage: `the function process exited (${how})` },
              { requestId },
            ),
      );
    });
  }

  get inFlight(): number {
    return this.#gate.inFlight;
  }

  get usable(): boolean {
    return this.#listening && !this.#retired && this.#failure === undefined && this.#stopping === undefined;
  }

  get closed(): Promise<void> {
    return this.#process.closed;
  }

  get pid(): number | undefined {
    return this.#process.pid;
  }

  invoke(invocation: Invocation): Promise<InvocationResult> {
    return this.#gate.pass(this.usable, this.#failure, invocation.requestId, () => this.#run(invocation));
  }

  /** Calls in flight fail with ServiceUnavailable; GET /pre-stop if configured and healthy; then the group goes. */
  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<void> {
    const healthy = this.#listening && !this.#retired && this.#failure === undefined;
    this.#fail((requestId) => new ServiceUnavailableError(`${this.#name} was stopped`, { requestId }));
    const preStop = this.#config.fn.preStop;
    if (healthy && preStop !== undefined) await this.#preStop(preStop.timeoutMs);
    await this.#process.terminate(healthy ? this.#options.stopGraceMs : 0);
    this.#agent.destroy();
    this.#namespace?.close();
  }

  /** FC's `GET /pre-stop`; its outcome only goes to the log: the instance stops either way. */
  async #preStop(timeoutMs: number): Promise<void> {
    const call = exchange({
      port: this.#port,
      ...(this.#namespace === undefined ? {} : { socketPath: this.#namespace.serverSocket }),
      agent: this.#agent,
      method: 'GET',
      path: '/pre-stop',
      headers: {
        ...fcRequestHeaders(this.#config, { requestId: '', qualifier: '' }),
        [FcHeader.functionHandler]: this.#config.fn.preStop?.handler ?? '',
        [FcHeader.controlPath]: '/pre-stop',
      },
      maxBodyBytes: 64 * 1024,
    });
    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([
      call.promise.then(
        (answer) => `answered HTTP ${answer.status}`,
        (failure: unknown) => (failure instanceof Error ? failure.message : 'failed'),
      ),
      new Promise<string>((resolve) => {
        timer = setTimeout(() => resolve(`did not answer within ${timeoutMs} ms`), timeoutMs);
      }),
    ]);
    clearTimeout(timer);
    call.abort();
    this.#process.log('', 'info', `pre-stop ${outcome}`);
  }

  async #run(invocation: Invocation): Promise<InvocationResult> {
    const { requestId } = invocation;
    const { now } = this.#options;
    if (invocation.deadline <= now()) throw deadlineExceeded(this.#config.fn, requestId);
    if (!this.#initialized) await this.#initialize(invocation);
    // Time spent in the initializer counts against the caller's deadline, not the function timeout.
    const budget = Math.min(invocation.deadline - now(), this.#config.fn.timeoutMs);
    if (budget <= 0) throw deadlineExceeded(this.#config.fn, requestId);
    if (this.#failure !== undefined) throw this.#failure(requestId);
    return framed(this.#config, 'Invoke', requestId, () => this.#invokeOnServer(invocation, budget));
  }

  async #invokeOnServer(invocation: Invocation, budget: number): Promise<InvocationResult> {
    const { requestId } = invocation;
    const headers = {
      ...fcRequestHeaders(this.#config, invocation),
      [FcHeader.controlPath]: '/invoke',
    };
    const answer = await this.#exchange('/invoke', headers, invocation.event, budget, requestId, () => {
      this.#retired = true;
      return new FunctionTimeoutError(timeoutMessage(this.#config.fn, budget), { requestId });
    });
    const outcome = invokeOutcome(answer, requestId);
    if (!outcome.ok) throw outcome.error;
    if (answer.headers[FcHeader.status] === undefined && answer.status >= 400) {
      this.#process.log(requestId, 'warn', `the server answered HTTP ${answer.status} without x-fc-status: counted as success (FC's rule)`);
    }
    return outcome.result;
  }

  /** POST /initialize once; concurrent first calls share one run; a failure lets the next call retry. */
  async #initialize(call: HeaderCall): Promise<void> {
    this.#init ??= this.#runInitializer(call).finally(() => {
      this.#init = undefined;
    });
    const error = await this.#init;
    if (error === undefined) return;
    // Each waiter gets the error with its own request ID.
    throw error.requestId === call.requestId ? error : errorFromWire(error.toWire(), call.requestId);
  }

  async #runInitializer(call: HeaderCall): Promise<EdgeFCError | undefined> {
    try {
      await framed(this.#config, 'Initialize', call.requestId, async () => {
        const failure = await this.#initializeOnServer(call);
        if (failure !== undefined) throw failure;
      });
      return undefined;
    } catch (err) {
      return toEdgeFCError(err);
    }
  }

  async #initializeOnServer(call: HeaderCall): Promise<EdgeFCError | undefined> {
    const limit = this.#config.fn.initializationTimeoutMs;
    const { requestId } = call;
    try {
      const answer = await this.#exchange(
        '/initialize',
        { ...fcRequestHeaders(this.#config, call), [FcHeader.controlPath]: '/initialize' },
        Buffer.alloc(0),
        limit,
        requestId,
        () => {
          // Stuck or slow, it cannot be told from here: a fresh instance runs the initializer again.
          this.#retired = true;
          return new InitializationTimeoutError(
            { errorType: 'InitializationTimeout', errorMessage: `the initializer of ${this.#config.fn.name} ran past ${limit} ms` },
            { requestId },
          );
        },
      );
      const failure = initializeOutcome(answer, requestId);
      if (failure === undefined) this.#initialized = true;
      return failure;
    } catch (err) {
      return toEdgeFCError(err);
    }
  }

  /**
   * One request to the server, bounded by `budgetMs`. Rejects typed: `onTimeout()`'s error,
   * ResultTooLarge, ProcessExited (or MemoryLimitExceeded) when the server died under it, or
   * a broken connection.
   */
  #exchange(
    path: string,
    headers: Record<string, string>,
    body: Buffer,
    budgetMs: number,
    requestId: string,
    onTimeout: () => EdgeFCError,
  ): Promise<HttpAnswer> {
    return new Promise<HttpAnswer>((resolve, reject) => {
      const request = exchange({
        port: this.#port,
        ...(this.#namespace === undefined ? {} : { socketPath: this.#namespace.serverSocket }),
        agent: this.#agent,
        method: 'POST',
        path,
        headers,
        body,
        maxBodyBytes: MAX_RESULT_BYTES,
      });
      let settled = false;
      const call: ActiveCall = {
        requestId,
        fail: (error) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          this.#calls.delete(call);
          request.abort();
          reject(error);
        },
      };
      const timer = setTimeout(() => call.fail(onTimeout()), budgetMs);
      this.#calls.add(call);
      request.promise.then(
        (answer) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          this.#calls.delete(call);
          resolve(answer);
        },
        (failure: unknown) => {
          if (settled) return;
          if (isExchangeFailure(failure) && failure.kind === 'tooLarge') {
            call.fail(
              new UnhandledInvocationError(
                { errorType: InstanceErrorType.ResultTooLarge, errorMessage: `the result is over ${failure.limit} bytes` },
                { requestId },
              ),
            );
            return;
          }
          void this.#onConnectionLost(call, failure);
        },
      );
    });
  }

  /** The server closed the connection without answering: crashed, or misbehaving. */
  async #onConnectionLost(call: ActiveCall, failure: unknown): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.#process.exited,
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, EXIT_AFTER_RESET_MS);
      }),
    ]);
    clearTimeout(timer);
    // If it died, #fail has already given this call the instance's reason (ProcessExited,
    // MemoryLimitExceeded); this only reaches a call whose server lives on.
    const cause = failure instanceof Error ? failure.message : String(failure);
    this.#retired = true;
    call.fail(
      new UnhandledInvocationError(
        { errorType: 'ConnectionClosed', errorMessage: `the function's server closed the connection without answering (${cause})` },
        { requestId: call.requestId },
      ),
    );
  }

  async #waitListening(): Promise<void> {
    const limit = this.#options.startTimeoutMs;
    const giveUpAt = this.#options.now() + limit;
    const port = this.#port;
    let wrongPorts: number[] | undefined;
    let stopped = false;
    // The watcher's wait, cut short once the server listens: a start must not wait for it.
    let watchTimer: NodeJS.Timeout | undefined;
    let wakeWatcher: (() => void) | undefined;
    const stop = (): boolean =>
      stopped || wrongPorts !== undefined || this.#process.exit !== undefined || this.#failure !== undefined || this.#options.now() >= giveUpAt;
    // A server listening elsewhere is reported at once, not at startTimeoutMs: the ports its
    // tree listens on are read every WRONG_PORT_CHECK_MS while it starts.
    const watchPorts = async (): Promise<void> => {
      while (!stop()) {
        await new Promise<void>((resolve) => {
          wakeWatcher = resolve;
          watchTimer = setTimeout(resolve, WRONG_PORT_CHECK_MS);
        });
        const pid = this.#process.pid;
        if (stop() || pid === undefined) return;
        const ports = await listeningPorts(pid);
        if (ports.length > 0 && !ports.includes(port)) wrongPorts = ports;
      }
    };
    const watching = watchPorts();
    let listening: boolean;
    const namespace = this.#namespace;
    if (namespace === undefined) {
      listening = await waitForPort(port, stop);
    } else {
      // Inside its namespace the forwarder polls the port and says when the server accepts.
      listening = await new Promise<boolean>((resolve) => {
        const poll = setInterval(() => {
          if (stop()) {
            clearInterval(poll);
            resolve(false);
          }
        }, 25);
        namespace.listening.then(
          () => {
            clearInterval(poll);
            resolve(true);
          },
          () => {
            clearInterval(poll);
            resolve(false);
          },
        );
      });
    }
    stopped = true;
    clearTimeout(watchTimer);
    wakeWatcher?.();
    await watching;
    if (listening && this.#failure === undefined) {
      this.#listening = true;
      return;
    }
    const exit = this.#process.exit;
    if (exit?.spawnError !== undefined) {
      throw new ServiceUnavailableError(`${this.#name} ${describeExit(exit)}`, { cause: exit.spawnError });
    }
    const wanted = this.#portName();
    const errorMessage =
      wrongPorts !== undefined
        ? `the function's server listens on port ${wrongPorts.join(', ')}, not on ${wanted}: ${this.#portAdvice(wrongPorts)}`
        : exit !== undefined
          ? `the function's server exited (${describeExit(exit)}) before accepting connections on ${wanted}`
          : this.#failure !== undefined
            ? this.#failure('').message
            : `the function's server did not accept connections on ${wanted} within ${limit} ms`;
    throw new UnhandledInvocationError({ errorType: InstanceErrorType.FunctionNotStarted, errorMessage });
  }

  /** The port the server must listen on, as the user would name it. */
  #portName(): string {
    return this.#config.fn.customRuntimeConfig?.port === undefined
      ? `port ${this.#port} (FC_SERVER_PORT)`
      : `port ${this.#port} (customRuntimeConfig.port, also in FC_SERVER_PORT)`;
  }

  #portAdvice(ports: readonly number[]): string {
    return this.#config.fn.customRuntimeConfig?.port === undefined
      ? `listen on the port in FC_SERVER_PORT, or set customRuntimeConfig.port: ${ports[0] ?? 9000} (FC's default is 9000)`
      : `listen on it (FC_SERVER_PORT holds it), or set customRuntimeConfig.port: ${ports[0] ?? 9000}`;
  }

  /** Raw output belongs to a call only when exactly one is running. */
  #attribution(): string {
    if (this.#calls.size !== 1) return '';
    const [only] = this.#calls;
    return only?.requestId ?? '';
  }

  /** Mark the instance failed for good and fail every call on it. Idempotent. */
  #fail(reason: FailureReason): void {
    if (this.#failure !== undefined) return;
    this.#failure = reason;
    for (const call of [...this.#calls]) call.fail(reason(call.requestId));
  }
}
