/**
 * The contract between the gateway's dispatcher and a runtime. The pool (function-pool.ts) is
 * runtime-agnostic; a runtime only knows how to start one instance of one function.
 */
import type { FunctionSpec, GatewayIdentity, ServiceSpec } from '../registry/types.js';
import type { TraceContext } from 'edgefc/protocol';
import type { FunctionLogFrame, FunctionLogLine } from '../logging/function-log.js';

export type InvocationType = 'Sync' | 'Async';

/** One call, as the gateway hands it to a runtime after it has been validated. */
export interface Invocation {
  requestId: string;
  invocationType: InvocationType;
  event: Buffer;
  /** The caller's invokerContext, already decoded and checked (docs/protocol.md §5). */
  invokerContext: Record<string, unknown> | undefined;
  qualifier: string;
  /** Epoch ms on the gateway's clock after which the call must not start and must be stopped. */
  deadline: number;
  /**
   * Async calls: attempts before this one (0 on the first run), FC's `context.retryCount`, so a
   * handler can tell a retry from a first run (docs/protocol.md §10.2). Absent: 0.
   */
  retryCount?: number;
  /** The call's W3C trace context (docs/protocol.md §3.7); absent for calls that came without one. */
  trace?: TraceContext;
  /**
   * Set by the pool when this call started the instance it ran on (a cold start); read by its
   * span (`faas.coldstart`, gateway/tracing/). Written only on that path.
   */
  coldStart?: boolean;
  /**
   * Aborted to stop the call (an operator's `invocations-stop`, §9.6a): it fails with the
   * signal's reason, and the instance running it is stopped (function-pool.ts #runStarted).
   */
  signal?: AbortSignal;
}

/** What a successful call produced. `binary` is true when the handler gave a Buffer. */
export interface InvocationResult {
  payload: Buffer;
  binary: boolean;
}

/** Everything an instance needs to build a function's context and environment. */
export interface InstanceConfig {
  service: ServiceSpec;
  fn: FunctionSpec;
  identity: GatewayIdentity;
  /** Broker URL handed to the function so `new FCClient()` inside it reaches this gateway. */
  brokerUrl: string;
  onLog: (line: FunctionLogLine) => void;
  /**
   * Output one call may log (FunctionLogOptions.maxInvocationBytes), for runtimes that can
   * drop past it where the output is made instead of sending it to the gateway to be dropped.
   * Absent: 1 MiB.
   */
  maxLogBytesPerCall?: number;
  /** Lines such a runtime dropped at the source (`requestId` '' outside calls), to be counted in the log. */
  onLogDropped?: (requestId: string, bytes: number, lines: number) => void;
  /**
   * FC's frame lines around each call and initializer run (gateway/logging/function-log.ts).
   * Absent: the runtime writes none.
   */
  onFrame?: (frame: FunctionLogFrame) => void;
  /**
   * This instance's own broker login (gateway/security/credentialed-runtime.ts), handed to the
   * function as EDGEFC_USERNAME / EDGEFC_PASSWORD and `context.credentials`. Absent on a gateway
   * without authentication (`--insecure`).
   */
  brokerCredential?: { username: string; password: string };
}

export interface FunctionInstance {
  readonly id: string;
  /** Calls currently running on this instance. */
  readonly inFlight: number;
  /** False once the instance is stopping or dead; the pool never gives it new calls. */
  readonly usable: boolean;
  /**
   * Run one call. Resolves with the result; rejects only with EdgeFCError (FunctionTimeout,
   * HandledInvocationError, UnhandledInvocationError, InitializationError, ...).
   */
  invoke(invocation: Invocation): Promise<InvocationResult>;
  /** Stop the instance; in-flight calls fail with a typed error. Idempotent. */
  stop(): Promise<void>;
}

export interface Runtime {
  readonly name: string;
  startInstance(config: InstanceConfig): Promise<FunctionInstance>;
  /**
   * The functions deployed now, told at gateway start and after every redeploy, so a runtime can
   * keep spare processes ready for their first calls (node/spare-processes.ts). Returns at once.
   */
  prepare?(functions: readonly FunctionSpec[]): void;
  /** Release shared resources (spare processes). */
  close(): Promise<void>;
}
