/**
 * edgefc SDK: the public surface for devices and functions. Hosted functions get the same module
 * as `linkedge-core-sdk`.
 */
export { FCClient, logResultOf } from './client/fc-client.js';
export type {
  InvokeParams,
  SyncInvokeParams,
  AsyncInvokeParams,
  InvokeResult,
  SyncInvokeResult,
  AsyncInvokeResult,
  InvokeCallback,
} from './client/fc-client.js';
export type { FCClientOptions, ClientLogger } from './client/options.js';
export * from './errors.js';
export { InvocationType, LogType } from './protocol/request.js';
export { encodeInvokerContext, decodeInvokerContext } from './protocol/invoker-context.js';
export type { InvokerContext } from './protocol/invoker-context.js';
export type { AsyncStatus } from './client/fc-client.js';
export { parseTraceparent, formatTraceparent } from './protocol/trace-context.js';
export type { TraceContext, ParsedTraceparent } from './protocol/trace-context.js';
