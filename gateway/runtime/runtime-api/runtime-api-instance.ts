/**
 * One instance of a `runtime: go1` function: the executable named by `handler`, started with
 * FC_RUNTIME_API pointing at a runtime API server of its own on a loopback port. The process
 * pulls work: `GET /2020-11-11/runtime/invocation/next` (long poll) hands it the next call,
 * and it answers with `POST .../invocation/{id}/response` or `.../error`. This is the API
 * fc-runtime-go-sdk's `fc.Start` speaks (fc/runtime_api_client.go), so a binary built with it
 * runs unchanged. docs/runtime-custom.md §Runtime API.
 *
 * A call that times out was handed to the process, which is still inside it (the SDK runs one
 * invocation at a time per poller): the instance is retired and stopped once idle, as a
 * custom web server is (custom-web-instance.ts).
 *
 * Every connection to the API is checked before a byte of it is read: the peer's socket must
 * belong to the function's uid and to a process of this instance (peer-check.ts), since any
 * local user can reach a loopback port and the SDK sends no credential. A refused connection is
 * closed, and the first refusal of an instance is logged to the function's log.
 */
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import {
  FunctionTimeoutError,
  HandledInvocationError,
  InitializationError,
  InitializationTimeoutError,
  ServiceUnavailableError,
  UnhandledInvocationError,
  errorFromWire,
} from 'edgefc/errors';
import type { EdgeFCError } from 'edgefc/errors';
import { MAX_RESULT_BYTES } from 'edgefc/protocol';
import type { ProcessInstanceOptions } from '../custom/custom-web-instance.js';
import { fcRequestHeaders } from '../process/fc-headers.js';
import type { HeaderCall } from '../process/fc-headers.js';
import { runtimeApiLaunch } from '../process/function-launch.js';
import { InstanceErrorType, deadlineExceeded, memoryExceeded, timeoutMessage } from '../process/instance-errors.js';
import type { FailureReason } from '../process/instance-errors.js';
import { LOOPBACK } from '../process/loopback-port.js';
import { ManagedProcess, describeExit } from '../process/managed-process.js';
import type { FunctionInstance, InstanceConfig, Invocation, InvocationResult } from '../types.js';
import { parseErrorBody } from './api-error-body.js';
import { writeFrame } from '../process/invocation-frames.js';
import type { FramePhase, FunctionLogFrame } from '../../logging/function-log.js';
import { InvocationGate, instanceName } from '../process/invocation-gate.js';
import { processTree } from '../process/process-tree.js';
import { checkLoopbackPeer, type PeerRule, type PeerVerdict } from './peer-check.js';

export const API_PREFIX = '/2020-11-11/runtime/invocation';

/**
 * `x-fc-function-type`, as fc-runtime-go-sdk numbers it today (fc/function.go: handleFunction 0,
 * initializerFunction 1, preStopFunction 2, preFreezeFunction 3; `convertInvokeFunctionType` in
 * fc/invoke_loop.go maps the header to these). The SDK swapped 2 and 3 once: its older
 * fc/function.go (aliyun/fc-runtime-go-sdk 436aee2b, before `HttpParam`) had preFreeze 2 and
 * preStop 3, which this gateway sent until issue 12. A binary acts on the numbers it was built
 * with, so the current SDK's win (docs/runtime-custom.md §5). Pre-freeze is never sent: instances
 * here are never frozen.
 */
export const FunctionType = { handler: 0, initializer: 1, preStop: 2, preFreeze: 3 } as const;
export type FunctionType = (typeof FunctionType)[keyof typeof FunctionType];

/** /proc/net/tcp is Linux's, as is every box edgefc runs on; elsewhere (a developer's Mac) connections are not checked. */
const PEERS_CHECKED = process.platform === 'linux';

const ANSWER_PATH = /^\/2020-11-11\/runtime\/invocation\/([^/?]+)\/(response|error)$/;

interface ApiCall {
  id: string;
  type: FunctionType;
  event: Buffer;
  headers: Record<string, string>;
  handedOut: boolean;
  /** Handler and initializer invocations are framed (FC Invoke/Initialize Start/End); pre-stop is not. */
  phase: FramePhase | undefined;
  /** The gateway wrote this call's Start line. */
  startWritten: boolean;
  /** Its End frame waits one setImmediate for the SDK's frame lines (see #frameEnd). */
  endDeferred?: boolean;
  resolve: (payload: Buffer) => void;
  reject: (error: EdgeFCError) => void;
}

export class RuntimeApiInstance implements FunctionInstance {
  readonly id: string;
  readonly #config: InstanceConfig;
  readonly #options: ProcessInstanceOptions;
  /** Accepts connections paused, checks the peer, then hands them to #server. */
  readonly #listener: net.Server;
  readonly #server: http.Server;
  /** Connections accepted (checked or being checked), destroyed at stop. */
  readonly #sockets = new Set<net.Socket>();
  readonly #peerRule: PeerRule;
  #refusalLogged = false;
  #process: ManagedProcess | undefined;
  /** Calls not yet handed out, oldest first. */
  readonly #queue: ApiCall[] = [];
  /** Calls handed out, by request ID. */
  readonly #running = new Map<string, ApiCall>();
  /** `GET .../next` requests waiting for work, oldest first. */
  readonly #polls: http.ServerResponse[] = [];
  readonly #name: string;
  readonly #gate: InvocationGate;
  #ready = false;
  #onReady: (() => void) | undefined;
  #initialized: boolean;
  #init: Promise<EdgeFCError | undefined> | undefined;
  #retired = false;
  /**
   * Whether the process prints FC's frame lines itself. fc-runtime-go-sdk does
   * (fc/function.go printStartLog/printEndLog) and the gateway must not double them; a client
   * of the API written without it does not, and the gateway frames its calls. Unknown until
   * the first call shows it: the SDK's Start line is the first thing it prints for a call.
   */
  #sdkFrames: boolean | undefined;
  /**
   * With SDK frames: the call between the process's own Start and End lines. Its output comes
   * through the same pipe as those lines, so this attributes lines exactly, whenever the answer
   * to the call arrived over HTTP.
   */
  #sdkCurrent: string | undefined;
  /** A first call's End frame waiting one setImmediate for the SDK's lines (#frameEnd). */
  #pendingEnd: { call: ApiCall; error: EdgeFCError | undefined } | undefined;
  #failure: FailureReason | undefined;
  #stopping: Promise<void> | undefined;
  readonly #closed: Promise<void>;
  #markClosed!: () => void;

  static async start(config: InstanceConfig, options: ProcessInstanceOptions): Promise<RuntimeApiInstance> {
    const instance = new RuntimeApiInstance(config, options);
    try {
      await instance.#start();
    } catch (err) {
      await instance.stop();
      throw err;
    }
    return instance;
  }

  private constructor(config: InstanceConfig, options: ProcessInstanceOptions) {
    this.id = options.id;
    this.#name = instanceName(config, options.id);
    this.#gate = new InvocationGate(this.#name);
    this.#config = config;
    this.#options = options;
    this.#initialized = config.fn.initializer === undefined;
    this.#closed = new Promise((resolve) => {
      this.#markClosed = resolve;
    });
    this.#server = http.createServer((req, res) => this.#onRequest(req, res));
    this.#listener = net.createServer({ pauseOnConnect: true, noDelay: true }, (socket) => void this.#admit(socket));
    this.#peerRule = {
      uid: config.fn.runAs?.uid ?? process.getuid?.() ?? -1,
      pids: () => {
        const pid = this.#process?.pid;
        return pid === undefined ? [] : processTree(pid);
      },
    };
    // A long poll may wait for work for as long as the instance lives; the SDK's client never
    // times out (Timeout: 0) and keeps its connection, so ours must not cut either.
    this.#server.keepAliveTimeout = 0;
    this.#server.requestTimeout = 0;
  }

  get inFlight(): number {
    return this.#gate.inFlight;
  }

  get usable(): boolean {
    return this.#ready && !this.#retired && this.#failure === undefined && this.#stopping === undefined;
  }

  get closed(): Promise<void> {
    return this.#closed;
  }

  get pid(): number | undefined {
    return this.#process?.pid;
  }

  invoke(invocation: Invocation): Promise<InvocationResult> {
    return this.#gate.pass(this.usable, this.#failure, invocation.requestId, () => this.#run(invocation));
  }

  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #start(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.#listener.once('error', reject);
      this.#listener.listen(0, LOOPBACK, () => resolve());
    });
    const { port } = this.#listener.address() as AddressInfo;
    const { fn } = this.#config;
    const ready = new Promise<void>((resolve) => {
      this.#onReady = resolve;
    });
    const proc = new ManagedProcess({
      ...runtimeApiLaunch(this.#config, this.id, port),
      config: this.#config,
      watchdogIntervalMs: this.#options.watchdogIntervalMs,
      attribute: () => this.#attribution(),
      onFrameText: (frame) => this.#onSdkFrame(frame),
      onMemoryExceeded: (rss) => this.#fail(memoryExceeded(fn, rss)),
      ...(this.#options.onSpawn === undefined ? {} : { onSpawn: this.#options.onSpawn }),
    });
    this.#process = proc;
    void proc.exited.then((exit) => {
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
    const limit = this.#options.startTimeoutMs;
    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([
      ready.then(() => 'ready' as const),
      proc.exited.then(() => 'exited' as const),
      new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), limit);
      }),
    ]);
    clearTimeout(timer);
    if (outcome === 'ready' && this.#failure === undefined) return;
    const exit = proc.exit;
    if (exit?.spawnError !== undefined) {
      throw new ServiceUnavailableError(`${this.#name} ${describeExit(exit)}`, { cause: exit.spawnError });
    }
    const errorMessage =
      exit !== undefined
        ? `the function process exited (${describeExit(exit)}) before asking for its first invocation`
        : `the function process did not call GET ${API_PREFIX}/next within ${limit} ms; it must read FC_RUNTIME_API (fc.Start in fc-runtime-go-sdk)`;
    throw new UnhandledInvocationError({ errorType: InstanceErrorType.FunctionNotStarted, errorMessage });
  }

  async #stop(): Promise<void> {
    const healthy = this.#ready && !this.#retired && this.#failure === undefined;
    const idle = this.#running.size === 0 && this.#queue.length === 0;
    const preStop = this.#config.fn.preStop;
    if (healthy && idle && preStop !== undefined) {
      const outcome = await this.#submit(FunctionType.preStop, { requestId: `prestop-${this.id}`, qualifier: '' }, Buffer.alloc(0), preStop.timeoutMs, () =>
        new FunctionTimeoutError(`pre-stop ran past ${preStop.timeoutMs} ms`),
      ).then(
        () => 'done',
        (err: unknown) => (err instanceof Error ? err.message : String(err)),
      );
      this.#process?.log('', 'info', `pre-stop ${outcome}`);
    }
    this.#fail((requestId) => new ServiceUnavailableError(`${this.#name} was stopped`, { requestId }));
    await this.#process?.terminate(healthy ? this.#options.stopGraceMs : 0);
    const closed = new Promise<void>((resolve) => this.#listener.close(() => resolve()));
    for (const socket of this.#sockets) socket.destroy();
    await closed;
    this.#markClosed();
  }

  /** Hand a connection to the HTTP server once its peer is this instance's process (peer-check.ts). */
  async #admit(socket: net.Socket): Promise<void> {
    this.#sockets.add(socket);
    socket.once('close', () => this.#sockets.delete(socket));
    // Until the HTTP server has it: a reset while it is checked must not be an uncaught error.
    socket.on('error', () => undefined);
    const verdict: PeerVerdict = PEERS_CHECKED ? await checkLoopbackPeer(socket, this.#peerRule) : { ok: true };
    if (socket.destroyed) return;
    if (!verdict.ok) {
      socket.destroy();
      this.#logRefusal(verdict.reason);
      return;
    }
    this.#server.emit('connection', socket);
    socket.resume();
  }

  /** Once per instance: a refused connection is someone else probing, not the function failing. */
  #logRefusal(reason: string): void {
    if (this.#refusalLogged) return;
    this.#refusalLogged = true;
    const { fn } = this.#config;
    try {
      this.#config.onLog({
        time: Date.now(),
        serviceName: fn.serviceName,
        functionName: fn.name,
        requestId: '',
        level: 'warn',
        message: `runtime API of ${this.#name} refused a connection: ${reason} (further refusals of this instance are not logged)`,
      });
    } catch {
      // A failing log sink must not take the instance down.
    }
  }

  async #run(invocation: Invocation): Promise<InvocationResult> {
    const { requestId } = invocation;
    const { fn } = this.#config;
    const { now } = this.#options;
    if (invocation.deadline <= now()) throw deadlineExceeded(fn, requestId);
    if (!this.#initialized) await this.#initialize(invocation);
    const budget = Math.min(invocation.deadline - now(), fn.timeoutMs);
    if (budget <= 0) throw deadlineExceeded(fn, requestId);
    const payload = await this.#submit(FunctionType.handler, invocation, invocation.event, budget, () => {
      return new FunctionTimeoutError(timeoutMessage(fn, budget), { requestId });
    });
    // The SDK answers JSON (json.Marshal of the handler's value): text, not bytes.
    return { payload, binary: false };
  }

  /** One initializer invocation (type 1) shared by concurrent first calls; a failure lets the next call retry. */
  async #initialize(call: HeaderCall): Promise<void> {
    this.#init ??= this.#runInitializer(call).finally(() => {
      this.#init = undefined;
    });
    const error = await this.#init;
    if (error === undefined) return;
    throw error.requestId === call.requestId ? error : errorFromWire(error.toWire(), call.requestId);
  }

  async #runInitializer(call: HeaderCall): Promise<EdgeFCError | undefined> {
    const limit = this.#config.fn.initializationTimeoutMs;
    const { requestId } = call;
    try {
      await this.#submit(FunctionType.initializer, call, Buffer.alloc(0), limit, () =>
        new InitializationTimeoutError(
          { errorType: 'InitializationTimeout', errorMessage: `the initializer of ${this.#config.fn.name} ran past ${limit} ms` },
          { requestId },
        ),
      );
      this.#initialized = true;
      return undefined;
    } catch (err) {
      return err as EdgeFCError;
    }
  }

  /** Queue one invocation for the process; resolves with its response body, rejects typed. */
  #submit(
    type: FunctionType,
    call: HeaderCall,
    event: Buffer,
    budgetMs: number,
    onTimeout: () => EdgeFCError,
  ): Promise<Buffer> {
    const { requestId } = call;
    if (this.#failure !== undefined) return Promise.reject(this.#failure(requestId));
    return new Promise<Buffer>((resolve, reject) => {
      const finish = (): void => {
        clearTimeout(timer);
        const queued = this.#queue.indexOf(apiCall);
        if (queued !== -1) this.#queue.splice(queued, 1);
        if (this.#running.get(requestId) === apiCall) this.#running.delete(requestId);
      };
      const apiCall: ApiCall = {
        id: requestId,
        type,
        event,
        headers: {
          ...fcRequestHeaders(this.#config, call),
          'x-fc-function-deadline': String(this.#options.now() + budgetMs),
          'x-fc-function-type': String(type),
        },
        handedOut: false,
        phase: type === FunctionType.handler ? 'Invoke' : type === FunctionType.initializer ? 'Initialize' : undefined,
        startWritten: false,
        resolve: (payload) => {
          finish();
          this.#frameEnd(apiCall, undefined);
          resolve(payload);
        },
        reject: (error) => {
          finish();
          this.#frameEnd(apiCall, error);
          reject(error);
        },
      };
      const timer = setTimeout(() => {
        // Handed out: the process is still inside it, so the instance cannot be trusted with
        // more work. Still queued: nothing ran, the instance is as good as before.
        if (apiCall.handedOut) this.#retired = true;
        apiCall.reject(onTimeout());
      }, budgetMs);
      this.#queue.push(apiCall);
      this.#dispatch();
    });
  }

  /** Hand queued calls to waiting polls. A request ID already running waits for its namesake. */
  #dispatch(): void {
    while (this.#polls.length > 0) {
      const index = this.#queue.findIndex((call) => !this.#running.has(call.id));
      if (index === -1) return;
      const res = this.#polls.shift();
      if (res === undefined) return;
      if (res.destroyed || res.writableEnded) continue;
      const [call] = this.#queue.splice(index, 1);
      if (call === undefined) return;
      call.handedOut = true;
      this.#running.set(call.id, call);
      if (this.#sdkFrames === false) this.#frameStart(call);
      res.writeHead(200, {
        ...call.headers,
        'content-type': 'application/octet-stream',
        'content-length': String(call.event.length),
      });
      res.end(call.event);
    }
  }

  #onRequest(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = req.url ?? '';
    if (req.method === 'GET' && url === `${API_PREFIX}/next`) {
      this.#onNext(res);
      return;
    }
    const match = ANSWER_PATH.exec(url);
    if (req.method === 'POST' && match?.[1] !== undefined && match[2] !== undefined) {
      this.#onAnswer(decodeURIComponent(match[1]), match[2] === 'error', req, res);
      return;
    }
    req.resume();
    res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ errorMessage: `no route ${req.method ?? ''} ${url}` }));
  }

  #onNext(res: http.ServerResponse): void {
    if (this.#failure !== undefined) {
      res.destroy();
      return;
    }
    if (!this.#ready) {
      this.#ready = true;
      this.#onReady?.();
    }
    this.#polls.push(res);
    res.on('close', () => {
      const index = this.#polls.indexOf(res);
      if (index !== -1) this.#polls.splice(index, 1);
    });
    this.#dispatch();
  }

  #onAnswer(id: string, isError: boolean, req: http.IncomingMessage, res: http.ServerResponse): void {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_RESULT_BYTES) tooLarge = true;
      else chunks.push(chunk);
    });
    req.on('error', () => undefined);
    req.on('end', () => {
      const call = this.#running.get(id);
      if (call === undefined) {
        // Timed out already, or never ours: the late answer is dropped.
        res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ errorMessage: `no invocation ${id} in progress` }));
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      const body = Buffer.concat(chunks, Math.min(size, MAX_RESULT_BYTES));
      const options = { requestId: id };
      if (tooLarge) {
        call.reject(
          new UnhandledInvocationError(
            { errorType: InstanceErrorType.ResultTooLarge, errorMessage: `the result is over ${MAX_RESULT_BYTES} bytes` },
            options,
          ),
        );
      } else if (!isError) {
        call.resolve(body);
      } else {
        const { fields, panicked } = parseErrorBody(body);
        if (call.type === FunctionType.initializer) call.reject(new InitializationError(fields, options));
        else if (panicked) call.reject(new UnhandledInvocationError(fields, options));
        else call.reject(new HandledInvocationError(fields, options));
      }
      this.#dispatch();
    });
  }

  /**
   * Raw output belongs to a call only when exactly one has been handed out. Called for each
   * line just before it is logged: a call's first line that is not the SDK's Start frame says
   * the process does not frame its calls, so the gateway's Start goes first.
   */
  #attribution(): string {
    if (this.#sdkFrames === true) return this.#sdkCurrent ?? '';
    const pending = this.#pendingEnd;
    if (pending !== undefined) {
      // Output that is not a frame line, for a call answered a moment ago: the process does not
      // frame its calls. The gateway's frames go first, and the late line is that call's.
      this.#sdkFrames = false;
      this.#flushPendingEnd();
      return pending.call.id;
    }
    if (this.#running.size !== 1) return '';
    const [only] = this.#running.values();
    if (only === undefined) return '';
    if (this.#sdkFrames === undefined && only.phase !== undefined) {
      this.#sdkFrames = false;
      this.#frameStart(only);
    }
    return only.id;
  }

  #frameStart(call: ApiCall): void {
    if (call.phase === undefined || call.startWritten) return;
    call.startWritten = true;
    writeFrame(this.#config, call.phase, 'Start', call.id);
  }

  /**
   * The gateway's End line, unless the SDK writes its own. A call never handed out (timed out
   * in the queue, failed with the instance) was never seen by the process: the gateway frames it.
   */
  #frameEnd(call: ApiCall, error: EdgeFCError | undefined): void {
    if (call.phase === undefined) return;
    if (call.handedOut && this.#sdkFrames === undefined && !call.endDeferred) {
      // The first answer may be read before the SDK's Start line, printed earlier but on another
      // pipe. Both are in the kernel by now, and a setImmediate runs after this poll phase has
      // delivered every ready stream: decide then, so the first call is never framed twice.
      call.endDeferred = true;
      this.#pendingEnd = { call, error };
      setImmediate(() => this.#flushPendingEnd());
      return;
    }
    if (call.handedOut && this.#sdkFrames === true && !call.startWritten) return;
    // Answered before any output: a process that framed its calls would have printed its Start
    // line before calling the handler, so this one does not (a line still in the pipe at worst
    // gives one instance one doubled Start, never a missing one).
    if (call.handedOut) this.#sdkFrames ??= false;
    this.#frameStart(call);
    writeFrame(this.#config, call.phase, 'End', call.id, error === undefined ? {} : { failed: true, error });
  }

  #flushPendingEnd(): void {
    const pending = this.#pendingEnd;
    if (pending === undefined) return;
    this.#pendingEnd = undefined;
    this.#frameEnd(pending.call, pending.error);
  }

  /** A frame line the process printed itself: passed through as the function's, and it settles #sdkFrames. */
  #onSdkFrame(frame: Pick<FunctionLogFrame, 'phase' | 'edge' | 'requestId' | 'error'>): void {
    this.#sdkFrames = true;
    this.#sdkCurrent = frame.edge === 'Start' ? frame.requestId : undefined;
    writeFrame(this.#config, frame.phase, frame.edge, frame.requestId, {
      source: 'function',
      ...(frame.error === undefined ? {} : { errorText: frame.error }),
    });
  }

  /** Mark the instance failed for good; fail every call and end every poll. Idempotent. */
  #fail(reason: FailureReason): void {
    if (this.#failure !== undefined) return;
    this.#failure = reason;
    for (const call of [...this.#queue, ...this.#running.values()]) call.reject(reason(call.id));
    for (const res of this.#polls.splice(0)) res.destroy();
  }
}
