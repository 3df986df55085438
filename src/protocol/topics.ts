/**
 * Topic layout (docs/protocol.md §2). Building and parsing live together so they cannot drift.
 */
import { nameProblem } from './names.js';
import { MAX_CLIENT_ID_LENGTH } from './limits.js';

export const TOPIC_PREFIX = 'edgefc/v1';

/** What the gateway subscribes to for invocations (§2.1). */
export const INVOKE_SUBSCRIPTION = `${TOPIC_PREFIX}/invoke/+/+/+`;
/** What the gateway subscribes to for admin operations (§9.1). */
export const ADMIN_SUBSCRIPTION = `${TOPIC_PREFIX}/admin/+/+`;
/** What the gateway subscribes to for Async status queries (§10.7). */
export const STATUS_SUBSCRIPTION = `${TOPIC_PREFIX}/status/+`;

const INVOKE_PREFIX = `${TOPIC_PREFIX}/invoke/`;
const ADMIN_PREFIX = `${TOPIC_PREFIX}/admin/`;
const STATUS_PREFIX = `${TOPIC_PREFIX}/status/`;
const CLIENT_ID_PATTERN = /^[A-Za-z0-9_-]+$/;

export function invokeTopic(clientId: string, serviceName: string, functionName: string): string {
  return `${INVOKE_PREFIX}${clientId}/${serviceName}/${functionName}`;
}

export function replyTopic(clientId: string): string {
  return `${TOPIC_PREFIX}/reply/${clientId}`;
}

export function adminTopic(clientId: string, operation: string): string {
  return `${ADMIN_PREFIX}${clientId}/${operation}`;
}

/** Where a client asks for the state of its own Async calls (§10.7). */
export function statusTopic(clientId: string): string {
  return `${STATUS_PREFIX}${clientId}`;
}

/** The client ID of a status topic (§10.7); undefined when malformed. */
export function parseStatusTopic(topic: string): string | undefined {
  if (!topic.startsWith(STATUS_PREFIX)) return undefined;
  const clientId = topic.slice(STATUS_PREFIX.length);
  return isClientId(clientId) ? clientId : undefined;
}

export interface InvokeAddress {
  clientId: string;
  serviceName: string;
  functionName: string;
}

export interface AdminAddress {
  clientId: string;
  operation: string;
}

function isClientId(value: string): boolean {
  return value.length > 0 && value.length <= MAX_CLIENT_ID_LENGTH && CLIENT_ID_PATTERN.test(value);
}

/** Parse an invoke topic; undefined when it breaks §2.4 (the caller drops and logs it). */
export function parseInvokeTopic(topic: string): InvokeAddress | undefined {
  if (!topic.startsWith(INVOKE_PREFIX)) return undefined;
  const parts = topic.slice(INVOKE_PREFIX.length).split('/');
  if (parts.length !== 3) return undefined;
  const [clientId, serviceName, functionName] = parts as [string, string, string];
  if (!isClientId(clientId)) return undefined;
  if (nameProblem(serviceName) !== undefined || nameProblem(functionName) !== undefined) return undefined;
  return { clientId, serviceName, functionName };
}

/** Parse an admin topic (§9.1); undefined when malformed. */
export function parseAdminTopic(topic: string): AdminAddress | undefined {
  if (!topic.startsWith(ADMIN_PREFIX)) return undefined;
  const parts = topic.slice(ADMIN_PREFIX.length).split('/');
  if (parts.length !== 2) return undefined;
  const [clientId, operation] = parts as [string, string];
  if (!isClientId(clientId) || !/^[a-z][a-z-]*$/.test(operation)) return undefined;
  return { clientId, operation };
}
