/**
 * ESM resolve hook, registered in the child with `module.register()` (it runs on Node's loader
 * thread). It makes `import 'linkedge-core-sdk'` in function code reach our SDK; NODE_PATH does
 * the same for `require()`, but ESM resolution ignores NODE_PATH.
 */
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';

export interface SdkHookData {
  runtimeModulesDir: string;
}

const SDK_NAME = 'linkedge-core-sdk';
let sdkUrl = '';

export function initialize(data: SdkHookData): void {
  sdkUrl = pathToFileURL(join(data.runtimeModulesDir, SDK_NAME, 'index.mjs')).href;
}

interface ResolveResult {
  url: string;
  format?: string | null;
  shortCircuit?: boolean;
}

export async function resolve(
  specifier: string,
  context: unknown,
  nextResolve: (specifier: string, context?: unknown) => Promise<ResolveResult>,
): Promise<ResolveResult> {
  if (specifier === SDK_NAME && sdkUrl !== '') return { url: sdkUrl, format: 'module', shortCircuit: true };
  return nextResolve(specifier, context);
}
