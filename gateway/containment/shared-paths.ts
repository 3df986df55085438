/**
 * What a function running as its own user must still be able to read: the node binary, the
 * compiled child runner (dist/), the `linkedge-core-sdk` shim (runtime-modules/), the SDK
 * package it loads (src/dist in a checkout) and the packages the SDK imports (node_modules/).
 * A function uid is no one in particular, so these must be readable by "other" all the way
 * down from /. An install under /root (0700) is not:
 * the gateway says so at start instead of every Node.js function failing to load.
 *
 * Checked: each path and its ancestors (o+x on directories, o+r on the path itself); not every
 * file below, which `npm install` and `tsc` create 0644/0755 under the usual umask 022.
 */
import { existsSync, realpathSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { packageRoot, runnerPath, runtimeModulesDir } from '../runtime/node/child-entry.js';

/** The paths of `paths` (default: what Node.js functions need) that "other" cannot read, with why. */
export function unreadablePaths(paths: readonly string[] = neededByFunctions()): string[] {
  const out: string[] = [];
  for (const path of paths) {
    const problem = whyUnreadable(path);
    if (problem !== undefined) out.push(problem);
  }
  return out;
}

/** True when any user can read `path` (it and every directory above it are open to "other"). */
export function readableByOthers(path: string): boolean {
  return whyUnreadable(path) === undefined;
}

function neededByFunctions(): string[] {
  // The runner may not be built yet: starting a Node.js function says so then, per call.
  return [process.execPath, dirname(runnerPath), runtimeModulesDir, join(packageRoot, 'node_modules'), ...sdkDir()].filter((path) => existsSync(path));
}

/**
 * The SDK package's compiled code, which the shim and the runner load: in a checkout
 * node_modules/edgefc is a workspace link to src/, so its files are not under node_modules/.
 */
function sdkDir(): string[] {
  try {
    return [dirname(createRequire(import.meta.url).resolve('edgefc'))];
  } catch {
    return []; // not built yet: the runner's own check reports it
  }
}

function whyUnreadable(path: string): string | undefined {
  let real: string;
  try {
    real = realpathSync.native(path);
  } catch {
    return `${path} (missing)`;
  }
  const own = statSync(real);
  if ((own.mode & 0o004) === 0 || (own.isDirectory() && (own.mode & 0o001) === 0)) return `${path} (mode ${(own.mode & 0o777).toString(8)})`;
  for (let dir = dirname(real); ; dir = dirname(dir)) {
    if ((statSync(dir).mode & 0o001) === 0) return `${path} (${dir} is not traversable: no o+x)`;
    if (dirname(dir) === dir) return undefined;
  }
}
