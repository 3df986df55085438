/**
 * What the gateway itself checks on every call, on every broker (docs/security.md §3.2): the
 * caller is the principal named by the topic's client level, which the broker binds to the
 * connection's identity (the embedded broker by broker-auth.ts, Mosquitto by the ACL that
 * `edgefc broker-config mosquitto` writes). Refusals are AccessDenied replies, never silent drops.
 */
import { AccessDeniedError } from 'edgefc/errors';
import { replyTopic } from 'edgefc/protocol';
import type { FunctionSpec } from '../registry/types.js';
import type { AccessControl } from './access-control.js';
import { PrincipalRole, type Principal } from './principal.js';

/**
 * A function's `invokers` when its template says nothing: operators (always) and the gateway's
 * own functions. Devices must be granted by name, group, or `devices`.
 */
export const DEFAULT_INVOKERS: readonly string[] = ['functions'];

/** The forms an `invokers` entry may take (functions/README.md). */
export const INVOKER_FORMS = ['*', 'devices', 'functions', 'device:NAME', 'group:NAME', 'service:SERVICE', 'function:SERVICE/FUNCTION'] as const;

export class CallPolicy {
  readonly #access: AccessControl;

  constructor(access: AccessControl) {
    this.#access = access;
  }

  /** The principal behind a topic's client level; AccessDenied when nobody by that name may connect. */
  caller(clientId: string): Principal {
    const principal = this.#access.principal(clientId);
    if (principal === undefined) throw new AccessDeniedError(`"${clientId}" is not a principal of this gateway (docs/security.md §2)`);
    return principal;
  }

  assertMayInvoke(clientId: string, fn: FunctionSpec): Principal {
    const principal = this.caller(clientId);
    if (!mayInvoke(principal, fn)) {
      throw new AccessDeniedError(`"${principal.name}" (${principal.role}) may not invoke ${fn.serviceName}/${fn.name}: its invokers are ${(fn.invokers ?? DEFAULT_INVOKERS).join(', ')}`);
    }
    return principal;
  }

  assertOperator(clientId: string, operation: string): Principal {
    const principal = this.caller(clientId);
    if (principal.role !== PrincipalRole.operator) {
      throw new AccessDeniedError(`admin operation "${operation}" is for operators; "${principal.name}" is a ${principal.role}`);
    }
    return principal;
  }
}

export function mayInvoke(principal: Principal, fn: FunctionSpec): boolean {
  if (principal.role === PrincipalRole.operator) return true;
  for (const entry of fn.invokers ?? DEFAULT_INVOKERS) {
    if (entry === '*') return true;
    if (principal.role === PrincipalRole.device) {
      if (entry === 'devices' || entry === `device:${principal.name}`) return true;
      if (entry.startsWith('group:') && principal.groups.includes(entry.slice('group:'.length))) return true;
    } else if (principal.function !== undefined) {
      if (entry === 'functions' || entry === `function:${principal.function}`) return true;
      if (entry === `service:${principal.function.split('/')[0] ?? ''}`) return true;
    }
  }
  return false;
}

/** §8.5: a plain MQTT 5 request's Response Topic must be the caller's own reply topic or below it. */
export function responseTopicAllowed(clientId: string, responseTopic: string): boolean {
  const own = replyTopic(clientId);
  return responseTopic === own || responseTopic.startsWith(`${own}/`);
}
