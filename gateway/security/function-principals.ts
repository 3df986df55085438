/**
 * Per-function broker logins for an external broker (docs/security.md §4): every instance of
 * SERVICE/FUNCTION logs in as `fn-` + a stable hash of its name, with a password derived from the
 * gateway's secret (`<data>/gateway.secret`, gateway-secrets.ts). Nothing else is stored: the
 * gateway derives the password again when it starts an instance, and `edgefc broker-config`
 * derives it to write its hash into Mosquitto's password file.
 *
 * Why per function and not per instance, as on the embedded broker: Mosquitto reads its password
 * file at start and on SIGHUP only, so it cannot learn a login per instance as instances come and
 * go. A function's login lives as long as the deployment that lists it; rotating
 * gateway.secret (and re-running broker-config) revokes them all.
 */
import { createHash, createHmac } from 'node:crypto';

/** `fn-` + 16 hex characters: 64 bits, so two functions of one gateway never share a login. */
const NAME_HASH_CHARS = 16;
/** Domain separation: the secret derives nothing else with this label. */
const PASSWORD_LABEL = 'edgefc function broker password v1\u0000';

/** What `isolation: none` functions share: they run in the gateway's process (credentialed-runtime.ts). */
export const IN_PROCESS_FUNCTION = { service: '*', fn: '*' } as const;

/** The principal name of SERVICE/FUNCTION's instances; the same on every gateway and every run. */
export function functionPrincipalName(service: string, fn: string): string {
  const hash = createHash('sha256').update(`${service}/${fn}`).digest('hex');
  return `fn-${hash.slice(0, NAME_HASH_CHARS)}`;
}

/** 256 bits, base64url (43 characters): high-entropy, so its broker hash needs no slow stretching. */
export function deriveFunctionPassword(secret: Buffer, principalName: string): string {
  return createHmac('sha256', secret).update(PASSWORD_LABEL + principalName).digest('base64url');
}
