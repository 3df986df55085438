/**
 * What a long-lived function process is started with, per runtime: program, arguments and
 * environment. The instances spawn exactly this, and so does the bench's process-start baseline
 * (bench/lib/process-start.ts), which times the same command outside the gateway: the two must
 * not drift apart, or "first call − process start" stops measuring the gateway.
 */
import { join } from 'node:path';
import type { InstanceConfig } from '../types.js';
import { functionEnv } from './function-env.js';
import { commandOf } from './instance-errors.js';
import { LOOPBACK } from './loopback-port.js';
import { withFunctionHome } from './run-as.js';

export interface FunctionLaunch {
  command: string;
  args: string[];
  env: Record<string, string>;
}

/** A custom runtime web server (docs/runtime-custom.md §3), to listen on `port`. */
export function webServerLaunch(config: InstanceConfig, instanceId: string, port: number): FunctionLaunch {
  const { command, args } = commandOf(config.fn);
  const env = withFunctionHome(functionEnv(config, instanceId), config.fn);
  // FC_SERVER_PORT is FC's variable for the port to listen on; FC_CUSTOM_LISTEN_PORT its older
  // name, still read by some bootstraps.
  env['FC_SERVER_PORT'] = String(port);
  env['FC_CUSTOM_LISTEN_PORT'] = String(port);
  env['FC_SERVER_PATH'] = config.fn.codeDir;
  return { command, args, env };
}

/** A `runtime: go1` executable (§5), to pull its invocations from the runtime API on `apiPort`. */
export function runtimeApiLaunch(config: InstanceConfig, instanceId: string, apiPort: number): FunctionLaunch {
  const { fn } = config;
  const env = withFunctionHome(functionEnv(config, instanceId), config.fn);
  env['FC_RUNTIME_API'] = `${LOOPBACK}:${apiPort}`;
  return { command: join(fn.codeDir, ...fn.handler.split('/')), args: [], env };
}
