/**
 * The error catalog: every failure edgefc reports, on either side of the wire, is one of these.
 *
 * Callers match on `code` (a stable string that survives JSON across MQTT), never on `message`.
 * docs/errors.md lists the same codes; test/unit/error-catalog.test.ts keeps the two in step.
 * Wire shape: docs/protocol.md §6.
 */

export const ErrorCode = {
  /** A request was malformed or out of limits: names, invocation type, invokerContext, payload size, request ID. */
  InvalidArgument: 'InvalidArgument',
  /** No service of that name is registered. */
  ServiceNotFound: 'ServiceNotFound',
  /** The service exists but has no function of that name. */
  FunctionNotFound: 'FunctionNotFound',
  /** The function's queue is full, or the client is over its limits (protocol §7.5); retry later. Answered at once, the call is not queued. */
  ResourceThrottled: 'ResourceThrottled',
  /** The function ran past min(caller deadline, function timeout) and was stopped. */
  FunctionTimeout: 'FunctionTimeout',
  /** The caller's deadline had passed before the gateway could start the call; it was not run. */
  DeadlineExceeded: 'DeadlineExceeded',
  /** The client got no reply before its deadline. */
  RequestTimeout: 'RequestTimeout',
  /** The handler reported an error through its callback (FC semantics). */
  HandledInvocationError: 'HandledInvocationError',
  /** The handler threw, rejected, crashed, exited or exceeded its memory (FC semantics). */
  UnhandledInvocationError: 'UnhandledInvocationError',
  /** The function's initializer failed; the next call retries it. */
  InitializationError: 'InitializationError',
  /** The function's initializer ran past initializationTimeout; the next call retries it. */
  InitializationTimeout: 'InitializationTimeout',
  /** The gateway cannot take the call now: shutting down, instance failed to start, broker unreachable. */
  ServiceUnavailable: 'ServiceUnavailable',
  /** The client was closed while the call was pending. */
  ClientClosed: 'ClientClosed',
  /** The caller's AbortSignal fired. */
  Aborted: 'Aborted',
  /** A message did not follow docs/protocol.md (bad envelope, unknown version, bad topic). */
  ProtocolError: 'ProtocolError',
  /** Anything else; unknown codes from the wire become this. */
  InternalError: 'InternalError',
  /**
   * The caller is known but not allowed to do this: a function its template does not grant it, an
   * admin operation by a non-operator, a Response Topic that is not its own (docs/security.md).
   */
  AccessDenied: 'AccessDenied',
  /** The broker refused the connection's credentials (unknown user, wrong password, client ID not its own). */
  AuthenticationFailed: 'AuthenticationFailed',
  /**
   * Another deploy changed the cluster's deployment first (NATS mode, docs/cluster.md): this one
   * was not applied anywhere. Look at the deployments now served, then deploy again.
   */
  DeployConflict: 'DeployConflict',
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

const KNOWN_CODES: ReadonlySet<string> = new Set(Object.values(ErrorCode));

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && KNOWN_CODES.has(value);
}

/** Function errors carry FC's fields (seed 000: errorMessage, errorType, stackTrace). */
export interface FunctionErrorFields {
  errorMessage: string;
  errorType: string;
  stackTrace?: string[];
}

/** The error as it travels in a reply envelope (docs/protocol.md §6). */
export interface WireError {
  code: ErrorCode;
  message: string;
  errorMessage?: string;
  errorType?: string;
  stackTrace?: string[];
}

export interface EdgeFCErrorOptions {
  cause?: unknown;
  requestId?: string;
}

/** Base class of every edgefc error. `code` is stable; `name` is the class name. */
export class EdgeFCError extends Error {
  readonly code: ErrorCode;
  readonly requestId: string | undefined;

  constructor(code: ErrorCode, message: string, options: EdgeFCErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.requestId = options.requestId;
  }

  toWire(): WireError {
    return { code: this.code, message: this.message };
  }
}

export class InvalidArgumentError extends EdgeFCError {
  constructor(message: string, options?: EdgeFCErrorOptions) {
    super(ErrorCode.InvalidArgument, message, options);
  }
}

export class ServiceNotFoundError extends EdgeFCError {
  constructor(message: string, options?: EdgeFCErrorOptions) {
    super(ErrorCode.ServiceNotFound, message, options);
  }
}

export class FunctionNotFoundError extends EdgeFCError {
  constructor(message: string, options?: EdgeFCErrorOptions) {
    super(ErrorCode.FunctionNotFound, message, options);
  }
}

export class ResourceThrottledError extends EdgeFCError {
  constructor(message: string, options?: EdgeFCErrorOptions) {
    super(ErrorCode.ResourceThrottled, message, options);
  }
}

export class FunctionTimeoutError extends EdgeFCError {
  constructor(message: string, options?: EdgeFCErrorOptions) {
    super(ErrorCode.FunctionTimeout, message, options);
  }
}

export class DeadlineExceededError extends EdgeFCError {
  constructor(message: string, options?: EdgeFCErrorOptions) {
    super(ErrorCode.DeadlineExceeded, message, options);
  }
}

export class RequestTimeoutError extends EdgeFCError {
  constructor(message: string, options?: EdgeFCErrorOptions) {
    super(ErrorCode.RequestTimeout, message, options);
  }
}

export class ServiceUnavailableError extends EdgeFCError {
  constructor(message: string, options?: EdgeFCErrorOptions) {
    super(ErrorCode.ServiceUnavailable, message, options);
  }
}

export class ClientClosedError extends EdgeFCError {
  constructor(message = 'the client was closed', options?: EdgeFCErrorOptions) {
    super(ErrorCode.ClientClosed, message, options);
  }
}

export class AbortedError extends EdgeFCError {
  constructor(message = 'the call was aborted', options?: EdgeFCErrorOptions) {
    super(ErrorCode.Aborted, message, options);
  }
}

export class ProtocolError extends EdgeFCError {
  constructor(message: string, options?: EdgeFCErrorOptions) {
    super(ErrorCode.ProtocolError, message, options);
  }
}

export class AccessDeniedError extends EdgeFCError {
  constructor(message: string, options?: EdgeFCErrorOptions) {
    super(ErrorCode.AccessDenied, message, options);
  }
}

export class AuthenticationFailedError extends EdgeFCError {
  constructor(message: string, options?: EdgeFCErrorOptions) {
    super(ErrorCode.AuthenticationFailed, message, options);
  }
}

export class DeployConflictError extends EdgeFCError {
  constructor(message: string, options?: EdgeFCErrorOptions) {
    super(ErrorCode.DeployConflict, message, options);
  }
}

export class InternalError extends EdgeFCError {
  constructor(message: string, options?: EdgeFCErrorOptions) {
    super(ErrorCode.InternalError, message, options);
  }
}

/**
 * Errors that come from the function's own code or its initializer. They carry FC's
 * `errorMessage` / `errorType` / `stackTrace` so FC-style callers can read them unchanged.
 */
export class FunctionError extends EdgeFCError {
  readonly errorMessage: string;
  readonly errorType: string;
  readonly stackTrace: string[] | undefined;

  constructor(
    code:
      | typeof ErrorCode.HandledInvocationError
      | typeof ErrorCode.UnhandledInvocationError
      | typeof ErrorCode.InitializationError
      | typeof ErrorCode.InitializationTimeout,
    fields: FunctionErrorFields,
    options?: EdgeFCErrorOptions,
  ) {
    super(code, fields.errorMessage, options);
    this.errorMessage = fields.errorMessage;
    this.errorType = fields.errorType;
    this.stackTrace = fields.stackTrace;
  }

  override toWire(): WireError {
    const wire: WireError = {
      code: this.code,
      message: this.message,
      errorMessage: this.errorMessage,
      errorType: this.errorType,
    };
    if (this.stackTrace !== undefined) wire.stackTrace = this.stackTrace;
    return wire;
  }
}

export class HandledInvocationError extends FunctionError {
  constructor(fields: FunctionErrorFields, options?: EdgeFCErrorOptions) {
    super(ErrorCode.HandledInvocationError, fields, options);
  }
}

export class UnhandledInvocationError extends FunctionError {
  constructor(fields: FunctionErrorFields, options?: EdgeFCErrorOptions) {
    super(ErrorCode.UnhandledInvocationError, fields, options);
  }
}

export class InitializationError extends FunctionError {
  constructor(fields: FunctionErrorFields, options?: EdgeFCErrorOptions) {
    super(ErrorCode.InitializationError, fields, options);
  }
}

export class InitializationTimeoutError extends FunctionError {
  constructor(fields: FunctionErrorFields, options?: EdgeFCErrorOptions) {
    super(ErrorCode.InitializationTimeout, fields, options);
  }
}

type SimpleErrorClass = new (message: string, options?: EdgeFCErrorOptions) => EdgeFCError;
type FunctionErrorClass = new (fields: FunctionErrorFields, options?: EdgeFCErrorOptions) => FunctionError;

const SIMPLE_CLASSES: Record<string, SimpleErrorClass> = {
  [ErrorCode.InvalidArgument]: InvalidArgumentError,
  [ErrorCode.ServiceNotFound]: ServiceNotFoundError,
  [ErrorCode.FunctionNotFound]: FunctionNotFoundError,
  [ErrorCode.ResourceThrottled]: ResourceThrottledError,
  [ErrorCode.FunctionTimeout]: FunctionTimeoutError,
  [ErrorCode.DeadlineExceeded]: DeadlineExceededError,
  [ErrorCode.RequestTimeout]: RequestTimeoutError,
  [ErrorCode.ServiceUnavailable]: ServiceUnavailableError,
  [ErrorCode.ClientClosed]: ClientClosedError,
  [ErrorCode.Aborted]: AbortedError,
  [ErrorCode.ProtocolError]: ProtocolError,
  [ErrorCode.InternalError]: InternalError,
  [ErrorCode.AccessDenied]: AccessDeniedError,
  [ErrorCode.AuthenticationFailed]: AuthenticationFailedError,
  [ErrorCode.DeployConflict]: DeployConflictError,
};

const FUNCTION_CLASSES: Record<string, FunctionErrorClass> = {
  [ErrorCode.HandledInvocationError]: HandledInvocationError,
  [ErrorCode.UnhandledInvocationError]: UnhandledInvocationError,
  [ErrorCode.InitializationError]: InitializationError,
  [ErrorCode.InitializationTimeout]: InitializationTimeoutError,
};

function stringOr(value: unknown, fallback: string): string {
  return typeof value === 'string' ? value : fallback;
}

/**
 * Rebuild a typed error from its wire form. Anything that does not look like a WireError, or
 * carries a code this version does not know, becomes InternalError (docs/protocol.md §6.3).
 */
export function errorFromWire(value: unknown, requestId?: string): EdgeFCError {
  const options: EdgeFCErrorOptions = requestId === undefined ? {} : { requestId };
  if (typeof value !== 'object' || value === null) {
    return new InternalError('the gateway sent an unreadable error', options);
  }
  const record = value as Record<string, unknown>;
  const code = record['code'];
  const message = stringOr(record['message'], 'unknown error');
  if (typeof code === 'string') {
    const FnClass = FUNCTION_CLASSES[code];
    if (FnClass !== undefined) {
      const fields: FunctionErrorFields = {
        errorMessage: stringOr(record['errorMessage'], message),
        errorType: stringOr(record['errorType'], 'Error'),
      };
      const trace = record['stackTrace'];
      if (Array.isArray(trace) && trace.every((line) => typeof line === 'string')) {
        fields.stackTrace = trace;
      }
      return new FnClass(fields, options);
    }
    const Simple = SIMPLE_CLASSES[code];
    if (Simple !== undefined) return new Simple(message, options);
  }
  return new InternalError(`${stringOr(code, 'unknown')}: ${message}`, options);
}

/** Any thrown value, as a typed error: EdgeFCErrors pass through, everything else is InternalError. */
export function toEdgeFCError(value: unknown): EdgeFCError {
  if (value instanceof EdgeFCError) return value;
  const message = value instanceof Error ? value.message : String(value);
  return new InternalError(message, { cause: value });
}
