/**
 * Messages between the gateway (parent) and one function instance (child process), over their
 * channel (function-channel.ts): JSON records with at most one field of raw bytes per message
 * (channel-codec.ts), so an event or a result crosses as bytes, not base64.
 *
 * Calls are keyed by `callId`, a per-instance counter, not by request ID: callers may bring
 * their own request IDs and nothing stops two calls from sharing one.
 */
import type { FunctionSpec, GatewayIdentity, ServiceSpec } from '../../../registry/types.js';
import type { FunctionErrorFields } from 'edgefc/errors';
import type { FunctionLogLevel } from '../../../logging/function-log.js';

export const ParentMessageType = {
  prepare: 'prepare',
  load: 'load',
  init: 'init',
  invoke: 'invoke',
  abort: 'abort',
  ping: 'ping',
  preStop: 'pre-stop',
  shutdown: 'shutdown',
} as const;
export type ParentMessageType = (typeof ParentMessageType)[keyof typeof ParentMessageType];

/**
 * To a spare process, before it knows its function: do the work every function needs (the ESM
 * resolve hook: ~35-60 ms of the start on 2 cores). Answered by `prepared`.
 */
export interface PrepareMessage {
  type: typeof ParentMessageType.prepare;
  /** Directory holding the `linkedge-core-sdk` shim package (ESM imports resolve into it). */
  runtimeModulesDir: string;
}

/** Load the handler module; the child answers `ready` or `load-failed`. */
export interface LoadMessage {
  type: typeof ParentMessageType.load;
  spec: FunctionSpec;
  service: ServiceSpec;
  identity: GatewayIdentity;
  /** Directory holding the `linkedge-core-sdk` shim package (ESM imports resolve into it). */
  runtimeModulesDir: string;
  /** Output one call may log (InstanceConfig.maxLogBytesPerCall); absent: 1 MiB. */
  maxLogBytesPerCall?: number;
  /**
   * Only to a spare process: the function's whole environment, working directory and, for a
   * function with its own user, that uid and gid, which a fresh fork gets from fork() itself
   * (child/adopt-function.ts).
   */
  adopt?: { env: Record<string, string>; cwd: string; user?: { uid: number; gid: number } };
}

/** Run the function's initializer; answered by `init-done` or `init-failed` with the same id. */
export interface InitMessage {
  type: typeof ParentMessageType.init;
  initId: number;
  requestId: string;
}

export interface InvokeMessage {
  type: typeof ParentMessageType.invoke;
  callId: number;
  requestId: string;
  event: Buffer;
  invokerContext: Record<string, unknown> | undefined;
  qualifier: string;
  /** Async retries before this attempt (context.retryCount); absent on older parents: 0. */
  retryCount?: number;
  /** docs/protocol.md §3.7; absent: the call has no trace context. */
  trace?: { traceparent: string; tracestate?: string };
}

/** The gateway gave up on a call: abort its `context.signal`. Any later reply is ignored. */
export interface AbortMessage {
  type: typeof ParentMessageType.abort;
  callId: number;
  message: string;
}

/** Liveness probe after a timeout: a child whose event loop is blocked cannot answer. */
export interface PingMessage {
  type: typeof ParentMessageType.ping;
  nonce: number;
}

/** Run the function's preStop hook (instanceLifecycleConfig.preStop) before the instance stops. */
export interface PreStopMessage {
  type: typeof ParentMessageType.preStop;
}

export interface ShutdownMessage {
  type: typeof ParentMessageType.shutdown;
}

export type ParentMessage =
  | PrepareMessage
  | LoadMessage
  | InitMessage
  | InvokeMessage
  | AbortMessage
  | PingMessage
  | PreStopMessage
  | ShutdownMessage;

export const ChildMessageType = {
  prepared: 'prepared',
  ready: 'ready',
  loadFailed: 'load-failed',
  initDone: 'init-done',
  initFailed: 'init-failed',
  result: 'result',
  error: 'error',
  log: 'log',
  logDropped: 'log-dropped',
  pong: 'pong',
  preStopDone: 'pre-stop-done',
  crash: 'crash',
} as const;
export type ChildMessageType = (typeof ChildMessageType)[keyof typeof ChildMessageType];

export interface PreparedMessage {
  type: typeof ChildMessageType.prepared;
}

export interface ReadyMessage {
  type: typeof ChildMessageType.ready;
}

export interface LoadFailedMessage {
  type: typeof ChildMessageType.loadFailed;
  error: FunctionErrorFields;
  /**
   * A spare could not take on the function (its code directory is gone): the gateway's side,
   * ServiceUnavailable, as a fresh fork into a missing cwd would be; otherwise the function's.
   */
  unavailable?: boolean;
}

export interface InitDoneMessage {
  type: typeof ChildMessageType.initDone;
  initId: number;
}

export interface InitFailedMessage {
  type: typeof ChildMessageType.initFailed;
  initId: number;
  error: FunctionErrorFields;
}

export interface ResultMessage {
  type: typeof ChildMessageType.result;
  callId: number;
  payload: Buffer;
  binary: boolean;
}

/**
 * `handled`: the handler passed an error to its callback (HandledInvocationError).
 * `unhandled`: it threw, rejected, or produced a result we cannot send (UnhandledInvocationError).
 */
export interface ErrorMessage {
  type: typeof ChildMessageType.error;
  callId: number;
  handled: boolean;
  error: FunctionErrorFields;
}

export interface LogMessage {
  type: typeof ChildMessageType.log;
  time: number;
  requestId: string;
  level: FunctionLogLevel;
  message: string;
}

/** console lines the child dropped past a budget (request ID '': outside calls), since its last report. */
export interface LogDroppedMessage {
  type: typeof ChildMessageType.logDropped;
  requestId: string;
  bytes: number;
  lines: number;
}

export interface PongMessage {
  type: typeof ChildMessageType.pong;
  nonce: number;
}

/** An uncaught exception or unhandled rejection: the child exits right after sending this. */
/** The preStop hook returned; `error` when it failed (or did not load). */
export interface PreStopDoneMessage {
  type: typeof ChildMessageType.preStopDone;
  error?: FunctionErrorFields;
}

export interface CrashMessage {
  type: typeof ChildMessageType.crash;
  error: FunctionErrorFields;
}

export type ChildMessage =
  | PreparedMessage
  | ReadyMessage
  | LoadFailedMessage
  | InitDoneMessage
  | InitFailedMessage
  | ResultMessage
  | ErrorMessage
  | LogMessage
  | LogDroppedMessage
  | PongMessage
  | PreStopDoneMessage
  | CrashMessage;

/** Cheap structural check for what arrives on the channel; the child is not trusted to be sane. */
const CHILD_TYPES: ReadonlySet<unknown> = new Set(Object.values(ChildMessageType));
const PARENT_TYPES: ReadonlySet<unknown> = new Set(Object.values(ParentMessageType));

export function isChildMessage(value: unknown): value is ChildMessage {
  return typeof value === 'object' && value !== null && CHILD_TYPES.has((value as { type?: unknown }).type);
}

export function isParentMessage(value: unknown): value is ParentMessage {
  return typeof value === 'object' && value !== null && PARENT_TYPES.has((value as { type?: unknown }).type);
}
