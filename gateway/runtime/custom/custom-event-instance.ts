/**
 * FC's non-web mode of a custom runtime: no server, a process per event. The event is in the
 * environment variable FC_CUSTOM_CONTAINER_EVENT (seed 004); exit code 0 is success and what
 * the process wrote to stdout is the result (at most 6 MiB, MAX_RESULT_BYTES: past that it is
 * killed and the call fails with ResultTooLarge). Both streams also go to the function's log.
 * Any other exit is UnhandledInvocationError `ProcessExited`, quoting the last stderr line:
 * most languages exit with 1 on an uncaught exception, so a non-zero code says "crashed", not
 * "reported an error" (docs/runtime-custom.md §Non-web mode).
 *
 * An "instance" here is only a set of slots: the pool still bounds calls to maxInstances ×
 * instanceConcurrency processes at once.
 */
import { InvalidArgumentError, ServiceUnavailableError, UnhandledInvocationError } from 'edgefc/errors';
import type { EdgeFCError } from 'edgefc/errors';
import { FunctionTimeoutError } from 'edgefc/errors';
import { MAX_RESULT_BYTES } from 'edgefc/protocol';
import { functionEnv } from '../process/function-env.js';
import { withFunctionHome } from '../process/run-as.js';
import { InstanceErrorType, commandOf, deadlineExceeded, memoryExceeded, timeoutMessage } from '../process/instance-errors.js';
import { ManagedProcess, describeExit } from '../process/managed-process.js';
import type { FunctionInstance, InstanceConfig, Invocation, InvocationResult } from '../types.js';
import type { ProcessInstanceOptions } from './custom-web-instance.js';
import { framed } from '../process/invocation-frames.js';
import { InvocationGate, instanceName } from '../process/invocation-gate.js';

/**
 * Linux caps one environment string ("NAME=value" and its NUL) at 128 KiB (MAX_ARG_STRLEN);
 * a larger event cannot be passed, so it is refused before anything starts.
 */
const MAX_ENV_STRING_BYTES = 128 * 1024;
const EVENT_VARIABLE = 'FC_CUSTOM_CONTAINER_EVENT';
/** stderr's last line, quoted in the error of a failed exit: 1 KiB is a message, not a dump. */
const MAX_QUOTED_STDERR = 1024;

export class CustomEventInstance implements FunctionInstance {
  readonly id: string;
  readonly #config: InstanceConfig;
  readonly #options: ProcessInstanceOptions;
  readonly #running = new Map<ManagedProcess, { requestId: string; decide: (error: EdgeFCError) => void }>();
  readonly #closed: Promise<void>;
  #markClosed!: () => void;
  readonly #name: string;
  readonly #gate: InvocationGate;
  #stopping: Promise<void> | undefined;

  constructor(config: InstanceConfig, options: ProcessInstanceOptions) {
    this.id = options.id;
    this.#name = instanceName(config, options.id);
    this.#gate = new InvocationGate(this.#name);
    this.#config = config;
    this.#options = options;
    this.#closed = new Promise((resolve) => {
      this.#markClosed = resolve;
    });
  }

  get inFlight(): number {
    return this.#gate.inFlight;
  }

  get usable(): boolean {
    return this.#stopping === undefined;
  }

  get closed(): Promise<void> {
    return this.#closed;
  }

  invoke(invocation: Invocation): Promise<InvocationResult> {
    return this.#gate.pass(this.usable, undefined, invocation.requestId, () => this.#run(invocation));
  }

  /** Kills every running process; their calls fail with ServiceUnavailable. Idempotent. */
  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<void> {
    const processes = [...this.#running];
    for (const [proc, { requestId, decide }] of processes) {
      decide(new ServiceUnavailableError(`${this.#name} was stopped`, { requestId }));
      proc.kill();
    }
    await Promise.all(processes.map(([proc]) => proc.closed));
    this.#markClosed();
  }

  async #run(invocation: Invocation): Promise<InvocationResult> {
    const { requestId } = invocation;
    const { fn } = this.#config;
    const now = this.#options.now();
    if (invocation.deadline <= now) throw deadlineExceeded(fn, requestId);
    const eventText = invocation.event.toString('utf8');
    if (eventText.includes('\0')) {
      throw new InvalidArgumentError(`${fn.name} runs in non-web mode: its event travels in an environment variable, which cannot hold a NUL byte`, { requestId });
    }
    const envBytes = Buffer.byteLength(`${EVENT_VARIABLE}=${eventText}`) + 1;
    if (envBytes > MAX_ENV_STRING_BYTES) {
      throw new InvalidArgumentError(
        `${fn.name} runs in non-web mode: its event (${invocation.event.length} bytes) must fit in one environment variable, at most ${MAX_ENV_STRING_BYTES - EVENT_VARIABLE.length - 2} bytes`,
        { requestId },
      );
    }
    const budget = Math.min(invocation.deadline - now, fn.timeoutMs);
    const { identity } = this.#config;
    const env = withFunctionHome(functionEnv(this.#config, this.id), this.#config.fn);
    Object.assign(env, {
      [EVENT_VARIABLE]: eventText,
      // Web mode sends these as headers; here the environment is the only channel.
      FC_REQUEST_ID: requestId,
      FC_INVOCATION_TYPE: invocation.invocationType,
      FC_RETRY_COUNT: String(invocation.retryCount ?? 0),
      FC_QUALIFIER: invocation.qualifier === '' ? this.#config.service.qualifier : invocation.qualifier,
      // Web mode's x-fc-version-id (§3.2a): the published version the call runs, '' for LATEST.
      FC_VERSION_ID: this.#config.service.versionId,
      // FC's names for the credentials of a custom runtime's process.
      ALIBABA_CLOUD_ACCESS_KEY_ID: identity.credentials.accessKeyId,
      ALIBABA_CLOUD_ACCESS_KEY_SECRET: identity.credentials.accessKeySecret,
      ALIBABA_CLOUD_SECURITY_TOKEN: identity.credentials.securityToken,
    });
    if (invocation.invokerContext !== undefined) {
      env['FC_INVOKER_CONTEXT'] = Buffer.from(JSON.stringify(invocation.invokerContext)).toString('base64');
    }
    // docs/protocol.md §3.7.5: OpenTelemetry's environment carrier names for a process per event.
    if (invocation.trace !== undefined) {
      env['TRACEPARENT'] = invocation.trace.traceparent;
      if (invocation.trace.tracestate !== undefined) env['TRACESTATE'] = invocation.trace.tracestate;
    }
    return framed(this.#config, 'Invoke', requestId, () => this.#spawnCall(requestId, env, budget));
  }

  #spawnCall(requestId: string, env: Record<string, string>, budget: number): Promise<InvocationResult> {
    const { fn } = this.#config;
    return new Promise<InvocationResult>((resolve, reject) => {
      const stdout: Buffer[] = [];
      let stdoutBytes = 0;
      let lastStderr = '';
      /** Set when the gateway decided the outcome before the exit (timeout, memory, size, stop). */
      let verdict: EdgeFCError | undefined;
      const decide = (error: EdgeFCError): void => {
        if (verdict !== undefined) return;
        verdict = error;
        proc.kill();
        // At once, not after the exit: a killed process's pipes may take a while to drain on
        // a loaded box, and the caller is owed its error within timeout + 100 ms.
        clearTimeout(timer);
        reject(error);
      };
      const { command, args } = commandOf(fn);
      const proc: ManagedProcess = new ManagedProcess({
        command,
        args,
        env,
        config: this.#config,
        watchdogIntervalMs: this.#options.watchdogIntervalMs,
        attribute: () => requestId,
        onMemoryExceeded: (rss) => decide(memoryExceeded(fn, rss)(requestId)),
        onStdout: (chunk) => {
          stdoutBytes += chunk.length;
          if (stdoutBytes > MAX_RESULT_BYTES) {
            decide(
              new UnhandledInvocationError(
                { errorType: InstanceErrorType.ResultTooLarge, errorMessage: `stdout is over ${MAX_RESULT_BYTES} bytes; the process was killed` },
                { requestId },
              ),
            );
            return;
          }
          stdout.push(chunk);
        },
        onStderrLine: (line) => {
          if (line.trim() !== '') lastStderr = line.slice(0, MAX_QUOTED_STDERR);
        },
        ...(this.#options.onSpawn === undefined ? {} : { onSpawn: this.#options.onSpawn }),
      });
      this.#running.set(proc, { requestId, decide });
      // Declared after the process: `decide` only runs from its events, which come later.
      const timer = setTimeout(() => decide(new FunctionTimeoutError(timeoutMessage(fn, budget), { requestId })), budget);
      void Promise.all([proc.exited, proc.closed]).then(([exit]) => {
        clearTimeout(timer);
        this.#running.delete(proc);
        if (verdict !== undefined) {
          return;
        } else if (exit.spawnError !== undefined) {
          reject(new ServiceUnavailableError(`${this.#name} ${describeExit(exit)}`, { requestId, cause: exit.spawnError }));
        } else if (exit.code === 0) {
          resolve({ payload: Buffer.concat(stdout), binary: false });
        } else {
          const tail = lastStderr === '' ? '' : `: ${lastStderr}`;
          reject(
            new UnhandledInvocationError(
              { errorType: InstanceErrorType.ProcessExited, errorMessage: `the function process exited (${describeExit(exit)})${tail}` },
              { requestId },
            ),
          );
        }
      });
    });
  }
}
