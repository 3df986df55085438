/**
 * The environment every function process starts with, whatever its runtime. The gateway's own
 * environment is not passed on wholesale (it may hold the gateway's secrets): only PATH, HOME,
 * LANG, TZ, then the function's `environmentVariables`, then FC's variables, which win.
 * Runtimes add their own on top (NODE_PATH, FC_SERVER_PORT, FC_RUNTIME_API).
 */
import type { InstanceConfig } from '../types.js';

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
  if (fn.initializer !== undefined) {
    env['FC_FUNCTION_INITIALIZER'] = fn.initializer;
    env['FC_INITIALIZATION_TIMEOUT'] = String(fn.initializationTimeoutMs / 1000);
  }
  return env;
}
