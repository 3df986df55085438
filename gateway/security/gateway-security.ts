/**
 * How `Gateway.start` puts security in place (docs/security.md), in the two steps the broker's
 * start divides it into:
 *
 * 1. `openAccess`, before the broker: the access file and the embedded broker's hooks; nothing
 *    with `--insecure`, which is said once, loudly.
 * 2. `securedRuntime`, once the broker's URL is known: the local operator login the CLI finds
 *    (embedded broker), or the per-function logins derived from `<data>/gateway.secret` that
 *    broker-config gave Mosquitto (external broker); and the runtime that hands each function
 *    instance its login.
 */
import { redactUrl } from 'edgefc/mqtt';
import type { Logger } from '../logging/logger.js';
import type { Runtime } from '../runtime/types.js';
import { AccessControl } from './access-control.js';
import { createBrokerAuth, type BrokerAuth } from './broker-auth.js';
import { withInstanceCredentials } from './credentialed-runtime.js';
import { readGatewaySecret } from './gateway-secrets.js';
import { ensureLocalOperator } from './local-credential.js';

export interface OpenedAccess {
  /** Undefined with `--insecure`. */
  access: AccessControl | undefined;
  /** The embedded broker's hooks; undefined with `--insecure`. */
  auth: BrokerAuth | undefined;
}

export async function openAccess(options: { insecure: boolean; accessFile: string; logger: Logger }): Promise<OpenedAccess> {
  const { logger } = options;
  if (options.insecure) return { access: undefined, auth: undefined };
  const access = await AccessControl.open(options.accessFile);
  access.onReloadError = (error) => logger.warn('the changed access file cannot be used; the previous one stays in force', { error: String(error) });
  const auth = createBrokerAuth(access, {
    refused: (event) => logger.warn('broker refused a connection', event),
    denied: (event) => logger.warn('broker denied a client', event),
  });
  // A revoked instance login (its instance stopped) also closes the connections made with it.
  access.functions.onRevoke = (name) => auth.disconnect(name);
  return { access, auth };
}

export interface SecuredRuntimeOptions {
  access: AccessControl | undefined;
  /** The URL devices and functions use; the embedded broker's when `embedded`. */
  brokerUrl: string;
  embedded: boolean;
  dataDir: string;
  accessFile: string;
  /** Make the local operator login (embedded broker only). */
  localOperator: boolean;
  logger: Logger;
}

/** The runtime functions run on, wrapped so each instance gets its own login when there is one. */
export async function securedRuntime(runtime: Runtime, options: SecuredRuntimeOptions): Promise<Runtime> {
  const { access, logger, dataDir } = options;
  if (access === undefined) {
    logger.warn('authentication is OFF (--insecure): anyone who reaches the broker can call every function, read every reply and deploy code', {
      broker: redactUrl(options.brokerUrl),
    });
    return runtime;
  }
  if (options.embedded) {
    // The embedded broker checks instance logins in memory (function-credentials.ts).
    if (options.localOperator) await ensureLocalOperator(dataDir, options.accessFile, options.brokerUrl);
    return withInstanceCredentials(runtime, access.functions);
  }
  // An external broker knows only the per-function logins broker-config derived from this secret.
  const secret = await readGatewaySecret(dataDir);
  if (secret === undefined) {
    logger.warn('no gateway.secret in the data directory: functions connect to the broker without a login (run "edgefc broker-config mosquitto")', { data: dataDir });
    return runtime;
  }
  access.functions.deriveFrom(secret);
  return withInstanceCredentials(runtime, access.functions);
}
