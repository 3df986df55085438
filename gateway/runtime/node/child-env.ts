/**
 * The environment a Node.js instance starts with: every function's (process/function-env.ts)
 * plus NODE_PATH, so `require('linkedge-core-sdk')` finds the shim in runtime-modules/.
 *
 * A spare process (spare-processes.ts) is forked before anyone knows which function it will
 * run, with only the variables every function inherits (spareEnv); it takes on the function's
 * environment when it loads the handler (child/adopt-function.ts). That is exact for variables
 * read when used, but Node, libuv, OpenSSL and ICU read some once at startup; a function whose
 * environment differs from the spare's in one of those (startupEnvMatches) gets a fresh fork.
 */
import { delimiter } from 'node:path';
import { INHERITED_ENV, functionEnv } from '../process/function-env.js';
import { withFunctionHome } from '../process/run-as.js';
import type { InstanceConfig } from '../types.js';

export function childEnv(
  config: InstanceConfig,
  runtimeModulesDir: string,
  instanceId: string,
  parentEnv: NodeJS.ProcessEnv = process.env,
): Record<string, string> {
  const env = withFunctionHome(functionEnv(config, instanceId, parentEnv), config.fn);
  // A function may bring its own NODE_PATH; ours goes last so its modules take precedence.
  const ownNodePath = config.fn.environmentVariables['NODE_PATH'];
  env['NODE_PATH'] = ownNodePath === undefined || ownNodePath === ''
    ? runtimeModulesDir
    : `${ownNodePath}${delimiter}${runtimeModulesDir}`;
  return env;
}

/** What a spare process is forked with: the variables every function inherits, nothing else. */
export function spareEnv(parentEnv: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of INHERITED_ENV) {
    const value = parentEnv[name];
    if (value !== undefined) env[name] = value;
  }
  return env;
}

/**
 * Read at process start, so setting them later would not take: NODE_OPTIONS and the other
 * NODE_* (NODE_PATH excepted: the child re-reads it, Module._initPaths), libuv's UV_*
 * (UV_THREADPOOL_SIZE), OpenSSL's OPENSSL_* / SSL_CERT_*, ICU's locale (LANG, LANGUAGE, LC_*)
 * and TZ (cached by V8).
 */
const STARTUP_ENV = /^(?:NODE_(?!PATH$)|UV_|OPENSSL_|SSL_CERT_|LC_)|^(?:LANG|LANGUAGE|TZ)$/;

/** True when a process forked with `spare` may become one started with `env`. */
export function startupEnvMatches(env: Readonly<Record<string, string>>, spare: Readonly<Record<string, string>>): boolean {
  for (const name of new Set([...Object.keys(env), ...Object.keys(spare)])) {
    if (STARTUP_ENV.test(name) && env[name] !== spare[name]) return false;
  }
  return true;
}
