/**
 * The environment a Node.js instance starts with: every function's (process/function-env.ts)
 * plus NODE_PATH, so `require('linkedge-core-sdk')` finds the shim in runtime-modules/.
 */
import { delimiter } from 'node:path';
import { functionEnv } from '../process/function-env.js';
import type { InstanceConfig } from '../types.js';

export function childEnv(
  config: InstanceConfig,
  runtimeModulesDir: string,
  instanceId: string,
  parentEnv: NodeJS.ProcessEnv = process.env,
): Record<string, string> {
  const env = functionEnv(config, instanceId, parentEnv);
  // A function may bring its own NODE_PATH; ours goes last so its modules take precedence.
  const ownNodePath = config.fn.environmentVariables['NODE_PATH'];
  env['NODE_PATH'] = ownNodePath === undefined || ownNodePath === ''
    ? runtimeModulesDir
    : `${ownNodePath}${delimiter}${runtimeModulesDir}`;
  return env;
}
