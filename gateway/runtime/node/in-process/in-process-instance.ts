/**
 * A Node.js function instance that runs inside the gateway process (`isolation: none`,
 * docs/runtime-node.md §9): the handler is called directly, with the same context, callback
 * and result rules as in a function process (../child/*), so a call costs no process hop (the
 * hop is most of a Sync call's latency: BENCHMARKS.md).
 *
 * What it keeps of an instance: the initializer runs once before its first call; timeouts and
 * the caller's deadline are enforced on the caller's side (FunctionTimeout on time, the
 * `context.signal` aborted, a late result dropped); console output and crashes are the
 * function's (in-process-scope.ts); stop() fails the calls in flight. What it cannot do: stop
 * a handler that does not return (a synchronous loop blocks the gateway), cap its memory, or
 * give it its own environment. "Instances" of one function share its module, loaded once per
 * gateway process.
 */
import {
  FunctionTimeoutError,
  HandledInvocationError,
  InitializationError,
  InitializationTimeoutError,
  ServiceUnavailableError,
  UnhandledInvocationError,
} from 'edgefc/errors';
import type { EdgeFCError, FunctionErrorFields } from 'edgefc/errors';
import type { FunctionLogLevel } from '../../../logging/function-log.js';
import { deadlineExceeded, timeoutMessage } from '../../process/instance-errors.js';
import { framed, writeFrame } from '../../process/invocation-frames.js';
import { InvocationGate, instanceName } from '../../process/invocation-gate.js';
import type { FunctionInstance, InstanceConfig, Invocation, InvocationResult } from '../../types.js';
import { buildContext } from '../child/context.js';
import { LazyAbort } from '../child/lazy-abort.js';
import type { ContextSource } from '../child/context.js';
import { toErrorFields } from '../child/error-fields.js';
import { loadExport } from '../child/load-handler.js';
import { runLifecycleHook } from '../child/run-hook.js';
import type { AnyFunction } from '../child/load-handler.js';
import { convertResult } from '../child/result.js';
import { runWithCallback } from '../child/run-handler.js';
import type { HandlerOutcome } from '../child/run-handler.js';
import { runInScope } from './in-process-scope.js';
import type { InProcessScope } from './in-process-scope.js';
import { prepareSdkResolution } from './sdk-resolution.js';

export interface InProcessInstanceOptions {
  id: string;
  runtimeModulesDir: string;
  /** The compiled ../child/sdk-resolve-hook.js (module.register needs a file Node can load). */
  sdkHookPath: string;
  now: () => number;
}

interface RunningCall {
  requestId: string;
  reject: (error: EdgeFCError) => void;
  abort: LazyAbort;
}

export class InProcessInstance implements FunctionInstance {
  readonly id: string;
  readonly #config: InstanceConfig;
  readonly #options: InProcessInstanceOptions;
  readonly #name: string;
  readonly #gate: InvocationGate;
  readonly #source: ContextSource;
  readonly #handler: AnyFunction;
  readonly #log: InProcessScope['log'];
  readonly #onCrash: InProcessScope['crashed'] = (scope, reason) => this.#crashed(scope, reason);
  /** Calls running now, by their number (InProcessScope.call): a crash in a call's scope fails that call. */
  readonly #running = new Map<number, RunningCall>();
  #lastCall = 0;
  #initialized: boolean;
  #initializing: Promise<void> | undefined;
  #stopping: Promise<void> | undefined;

  /** Load the handler (once per gateway process per file). Rejects typed when it does not load. */
  static async start(config: InstanceConfig, options: InProcessInstanceOptions): Promise<InProcessInstance> {
    prepareSdkResolution(options.runtimeModulesDir, options.sdkHookPath, config.brokerUrl, config.brokerCredential);
    const scope = InProcessInstance.#loadScope(config);
    const loaded = await runInScope(scope, () => loadExport(config.fn.codeDir, config.fn.handler));
    if (!loaded.ok) throw new UnhandledInvocationError(loaded.error);
    return new InProcessInstance(config, options, loaded.fn);
  }

  /** Output and crashes while the module loads belong to no call. */
  static #loadScope(config: InstanceConfig): InProcessScope {
    const log = logTo(config);
    return {
      requestId: '',
      call: 0,
      log,
      crashed: (_scope, reason) => log('', 'error', `uncaught while loading: ${describe(reason)}`),
    };
  }

  private constructor(config: InstanceConfig, options: InProcessInstanceOptions, handler: AnyFunction) {
    this.id = options.id;
    this.#config = config;
    this.#options = options;
    this.#name = instanceName(config, options.id);
    this.#gate = new InvocationGate(this.#name);
    this.#source = { spec: config.fn, service: config.service, identity: config.identity };
    this.#handler = handler;
    this.#log = logTo(config);
    this.#initialized = config.fn.initializer === undefined;
  }

  get inFlight(): number {
    return this.#gate.inFlight;
  }

  get usable(): boolean {
    return this.#stopping === undefined;
  }

  invoke(invocation: Invocation): Promise<InvocationResult> {
    return this.#gate.pass(this.usable, undefined, invocation.requestId, () => this.#run(invocation));
  }

  /**
   * Fails the calls in flight with ServiceUnavailable and aborts their `context.signal` (what
   * their handlers do after that is not seen by anyone), then runs the preStop hook. Idempotent.
   */
  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<void> {
    for (const call of [...this.#running.values()]) {
      const error = new ServiceUnavailableError(`${this.#name} was stopped`, { requestId: call.requestId });
      call.reject(error);
      call.abort.abort(error);
    }
    const preStop = this.#config.fn.preStop;
    if (preStop !== undefined) await this.#preStop(preStop.handler, preStop.timeoutMs);
  }

  async #run(invocation: Invocation): Promise<InvocationResult> {
    const { requestId } = invocation;
    const { now } = this.#options;
    if (invocation.deadline <= now()) throw deadlineExceeded(this.#config.fn, requestId);
    if (!this.#initialized) await this.#initialize(requestId);
    // Time spent in the initializer counts against the caller's deadline, not the function timeout.
    const budget = Math.min(invocation.deadline - now(), this.#config.fn.timeoutMs);
    if (budget <= 0) throw deadlineExceeded(this.#config.fn, requestId);
    return framed(this.#config, 'Invoke', requestId, () => this.#call(invocation, budget));
  }

  #call(invocation: Invocation, budget: number): Promise<InvocationResult> {
    const { requestId } = invocation;
    this.#lastCall += 1;
    const call = this.#lastCall;
    return new Promise<InvocationResult>((resolve, reject) => {
      const abort = new LazyAbort();
      let settled = false;
      const finish = (settle: () => void): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.#running.delete(call);
        settle();
      };
      const fail = (error: EdgeFCError): void => finish(() => reject(error));
      const timer = setTimeout(() => {
        const error = new FunctionTimeoutError(timeoutMessage(this.#config.fn, budget), { requestId });
        fail(error);
        abort.abort(error);
      }, budget);
      this.#running.set(call, { requestId, reject: fail, abort });
      const context = buildContext(this.#source, {
        requestId,
        qualifier: invocation.qualifier,
        invokerContext: invocation.invokerContext,
        abort,
        retryCount: invocation.retryCount ?? 0,
        trace: invocation.trace,
      });
      const handler = this.#handler;
      const scope = this.#scope(requestId, call);
      if (invocation.trace !== undefined) scope.trace = invocation.trace;
      runInScope(scope, () => runWithCallback(handler, [invocation.event, context], 3)).then(
        (outcome) => {
          const result = outcomeOf(outcome, requestId);
          finish(() => (result instanceof Error ? reject(result) : resolve(result)));
        },
        (error: unknown) => fail(new UnhandledInvocationError(toErrorFields(error), { requestId })),
      );
    });
  }

  /** Runs the initializer once; concurrent first calls share one run. A failure lets the next call retry. */
  #initialize(requestId: string): Promise<void> {
    this.#initializing ??= this.#runInitializer(requestId).finally(() => {
      this.#initializing = undefined;
    });
    return this.#initializing;
  }

  async #runInitializer(requestId: string): Promise<void> {
    const { fn } = this.#config;
    const initializer = fn.initializer;
    if (initializer === undefined) return;
    writeFrame(this.#config, 'Initialize', 'Start', requestId);
    const outcome = await this.#runHook(initializer, requestId, fn.initializationTimeoutMs);
    let failure: EdgeFCError | undefined;
    if (outcome === 'timeout') {
      const fields = { errorType: 'InitializationTimeout', errorMessage: `the initializer of ${fn.name} ran past ${fn.initializationTimeoutMs} ms` };
      failure = new InitializationTimeoutError(fields, { requestId });
    } else if (outcome !== undefined) {
      failure = new InitializationError(outcome, { requestId });
    }
    writeFrame(this.#config, 'Initialize', 'End', requestId, failure === undefined ? {} : { failed: true, error: failure });
    if (failure !== undefined) throw failure;
    this.#initialized = true;
  }

  /** The preStop hook, at most its timeout; its outcome only goes to the log. */
  async #preStop(handler: string, timeoutMs: number): Promise<void> {
    const outcome = await this.#runHook(handler, '', timeoutMs);
    const text =
      outcome === undefined ? 'returned' : outcome === 'timeout' ? `did not return within ${timeoutMs} ms` : `failed: ${outcome.errorType}: ${outcome.errorMessage}`;
    this.#log('', 'info', `pre-stop ${text}`);
  }

  /** A lifecycle hook in this function's scope: undefined (ok), its error, or 'timeout' (its signal then aborted). */
  async #runHook(handler: string, requestId: string, timeoutMs: number): Promise<FunctionErrorFields | 'timeout' | undefined> {
    const abort = new LazyAbort();
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs);
    });
    // Its output and crashes belong to no call: request ID ''.
    const outcome = await Promise.race([runInScope(this.#scope(''), () => runLifecycleHook(this.#source, handler, requestId, abort)), timedOut]);
    clearTimeout(timer);
    if (outcome === 'timeout') abort.abort(new Error(`${handler} ran past ${timeoutMs} ms`));
    return outcome;
  }

  #scope(requestId: string, call = 0): InProcessScope {
    return { requestId, call, log: this.#log, crashed: this.#onCrash };
  }

  /**
   * The function left an exception or rejection unhandled. In a process of its own that would
   * end the process (and every call on it); here it ends only the call whose code raised it,
   * and is logged to the function. Its module state is what the crash left.
   */
  #crashed(scope: InProcessScope, reason: unknown): void {
    const { requestId } = scope;
    const fields = toErrorFields(reason);
    this.#log(requestId, 'error', `uncaught ${fields.errorType}: ${fields.errorMessage}${fields.stackTrace === undefined ? '' : `\n${fields.stackTrace.join('\n')}`}`);
    const call = this.#running.get(scope.call);
    if (call === undefined) return;
    call.reject(new UnhandledInvocationError(fields, { requestId }));
    call.abort.abort(reason);
  }
}

function logTo(config: InstanceConfig): (requestId: string, level: FunctionLogLevel, message: string) => void {
  return (requestId, level, message) => {
    try {
      config.onLog({ time: Date.now(), serviceName: config.fn.serviceName, functionName: config.fn.name, requestId, level, message });
    } catch {
      // A failing log sink must not take the gateway down.
    }
  };
}

/** The result, or the error, of a handler's outcome, by FC's rules (../child/result.ts). */
function outcomeOf(outcome: HandlerOutcome, requestId: string): InvocationResult | EdgeFCError {
  switch (outcome.kind) {
    case 'ok': {
      const converted = convertResult(outcome.value);
      if (converted.ok) return { payload: converted.payload, binary: converted.binary };
      return new UnhandledInvocationError(converted.error, { requestId });
    }
    case 'handled':
      return new HandledInvocationError(toErrorFields(outcome.error), { requestId });
    case 'unhandled':
      return new UnhandledInvocationError(toErrorFields(outcome.error), { requestId });
  }
}

function describe(reason: unknown): string {
  const fields: FunctionErrorFields = toErrorFields(reason);
  return `${fields.errorType}: ${fields.errorMessage}`;
}
