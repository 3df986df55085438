/**
 * Who is on the other end of a connection (docs/security.md §1): a principal has a name and a
 * role. Devices and operators are listed in the access file (access-file.ts); the gateway's
 * function instances get their own short-lived principals (function-credentials.ts).
 *
 * Names are the topic address of every call a principal makes: the `{clientId}` level of
 * docs/protocol.md §2 is its principal's name, and its MQTT client ID is the name itself or the
 * name, `_` and any suffix (so one principal can hold several connections at once). Names
 * therefore may not contain `_`: `a_b_1` must belong to one principal only.
 */
export const PrincipalRole = {
  /** Calls the functions granted to it; publishes the trigger topics granted to it. */
  device: 'device',
  /** Everything a device may do, any function, and the admin operations (docs/protocol.md §9). */
  operator: 'operator',
  /** A hosted function's instance: calls functions that grant it, never admin. */
  function: 'function',
} as const;
export type PrincipalRole = (typeof PrincipalRole)[keyof typeof PrincipalRole];

/** 40 at most: `name_` + FCClient's 12-character suffix stays within a 64-character client ID. */
export const PRINCIPAL_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9-]{0,39}$/;
export const PRINCIPAL_NAME_RULE = '1–40 letters, digits and "-", starting with a letter or digit (no "_": it separates a client ID suffix)';

export interface Principal {
  name: string;
  role: PrincipalRole;
  /** Groups named in `invokers` (group:NAME) that include it. */
  groups: readonly string[];
  /** Topic filters (outside `edgefc/` and `$`) it may publish to: trigger topics. */
  publish: readonly string[];
  /** Topic filters (outside `edgefc/` and `$`) it may subscribe to, besides its reply topic. */
  subscribe: readonly string[];
  /** For role `function`: the function it runs as `SERVICE/FUNCTION`. */
  function?: string;
}

export function isPrincipalName(value: string): boolean {
  return PRINCIPAL_NAME_PATTERN.test(value);
}

/** The principal a client ID belongs to: the part before the first `_`. */
export function principalOfClientId(clientId: string): string {
  const cut = clientId.indexOf('_');
  return cut === -1 ? clientId : clientId.slice(0, cut);
}

/** Is `clientId` one `name` may connect with (the name, or `name_suffix`)? */
export function clientIdBelongsTo(clientId: string, name: string): boolean {
  return clientId === name || (clientId.startsWith(`${name}_`) && clientId.length > name.length + 1);
}
