/**
 * Makes `require('linkedge-core-sdk')` and `import 'linkedge-core-sdk'` inside in-process
 * functions reach our SDK, as a function process does (../child-env.ts NODE_PATH,
 * ../child/sdk-resolve-hook.ts), and points `new FCClient()` at this gateway's broker.
 * Once per gateway process.
 *
 * The gateway's own module resolution is not changed: runtime-modules/ is only the last
 * fallback for bare names nothing else resolves, and it holds nothing but the SDK's name.
 */
import Module, { register } from 'node:module';
import { delimiter } from 'node:path';
import { pathToFileURL } from 'node:url';
import { BROKER_URL_ENV, PASSWORD_ENV, USERNAME_ENV } from 'edgefc/client';
import type { SdkHookData } from '../child/sdk-resolve-hook.js';

/** Node's CommonJS loader; `_initPaths` re-reads NODE_PATH (see ../child/adopt-function.ts). */
interface LoaderInternals {
  _initPaths?: () => void;
}

let prepared = false;

export function prepareSdkResolution(
  runtimeModulesDir: string,
  sdkHookPath: string,
  brokerUrl: string,
  login: { username: string; password: string } | undefined,
): void {
  // The broker can differ per gateway start only; later instances see the same URL.
  process.env[BROKER_URL_ENV] = brokerUrl;
  // In-process functions share one login for the gateway's life (security/credentialed-runtime.ts).
  if (login !== undefined) {
    process.env[USERNAME_ENV] = login.username;
    process.env[PASSWORD_ENV] = login.password;
  }
  if (prepared) return;
  prepared = true;
  const current = process.env['NODE_PATH'];
  const paths = current === undefined || current === '' ? [] : current.split(delimiter);
  if (!paths.includes(runtimeModulesDir)) {
    process.env['NODE_PATH'] = [...paths, runtimeModulesDir].join(delimiter);
    (Module as unknown as LoaderInternals)._initPaths?.();
  }
  register<SdkHookData>(pathToFileURL(sdkHookPath), { data: { runtimeModulesDir } });
}
