/**
 * The environment every function process starts with, whatever its runtime. The gateway's own
 * environment is not passed on wholesale (it may hold the gateway's secrets): only PATH, HOME,
 * LANG, TZ, then the function's `environmentVariables`, then FC's variables, which win.
 * Runtimes add their own on top (NODE_PATH, FC_SERVER_PORT, FC_RUNTIME_API).
 */
import { PASSWORD_ENV, USERNAME_ENV } from 'edgefc/client';
import type { GatewayIdentity } from '../../registry/types.js';
import type { InstanceConfig } from '../types.js';

/** Template credentials (for the function's own cloud calls) win over the broker login in FC's shape. */
export function hasTemplateCredentials(identity: GatewayIdentity): boolean {
  return identity.credentials.accessKeyId !== '';
}

/** Taken from the gateway's own environment; the Node.js runtime's spare processes start with these only. */
export const INHERITED_ENV = ['PATH', 'HOME', 'LANG', 'TZ'] as const;

export function functionEnv(
  config: InstanceConfig,
  instanceId: string,
  parentEnv: NodeJS.ProcessEnv = process.env,
): Record<string, string> {
  const { fn, service, identity } = config;
  const env: Record<string, string> = {};
  for (const name of INHERITED_ENV) {
    const value = parentEnv[name];
    if (value !== undefined) env[name] = value;
  }
  Object.assign(env, fn.environmentVariables);
  Object.assign(env, {
    EDGEFC_BROKER_URL: config.brokerUrl,
    FC_FUNCTION_NAME: fn.name,
    FC_SERVICE_NAME: service.name,
    FC_FUNCTION_HANDLER: fn.handler,
    FC_FUNC_CODE_PATH: fn.codeDir,
    FC_REGION: identity.region,
    FC_ACCOUNT_ID: identity.accountId,
    FC_FUNCTION_MEMORY_SIZE: String(fn.memorySizeMB),
    FC_FUNCTION_TIMEOUT: String(fn.timeoutMs / 1000),
    FC_INSTANCE_ID: instanceId,
    FC_QUALIFIER: service.qualifier,
    FC_RUNTIME: fn.runtime,
  });
  const login = config.brokerCredential;
  if (login !== undefined) {
    // What `new FCClient()` inside the function logs in with (src/client/options.ts), and FC's
    // credential variables, which custom runtimes read for context.credentials.
    env[USERNAME_ENV] = login.username;
    env[PASSWORD_ENV] = login.password;
    if (!hasTemplateCredentials(identity)) {
      env['ALIBABA_CLOUD_ACCESS_KEY_ID'] = login.username;
      env['ALIBABA_CLOUD_ACCESS_KEY_SECRET'] = login.password;
      env['ALIBABA_CLOUD_SECURITY_TOKEN'] = '';
    }
  }
  if (fn.initializer !== undefined) {
    env['FC_FUNCTION_INITIALIZER'] = fn.initializer;
    env['FC_INITIALIZATION_TIMEOUT'] = String(fn.initializationTimeoutMs / 1000);
  }
  return env;
}
