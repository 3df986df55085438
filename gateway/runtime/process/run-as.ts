/**
 * How a function with its own user (FunctionSpec.runAs, set by gateway/containment/) is
 * started, the same for every runtime: spawn/fork with its uid and gid (libuv then drops
 * supplementary groups, calls setgid and setuid in the child before exec, and chdir to codeDir
 * as root first), and HOME pointing at its private home unless its template sets HOME.
 * Without runAs nothing changes: the process runs as the gateway does.
 */
import type { FunctionSpec } from '../../registry/types.js';

/** The `uid`/`gid` options of spawn() and fork(): empty without runAs. */
export function spawnIdentity(fn: FunctionSpec): { uid: number; gid: number } | Record<string, never> {
  return fn.runAs === undefined ? {} : { uid: fn.runAs.uid, gid: fn.runAs.gid };
}

/**
 * The gateway's HOME (/root on a box running it as root) is unreadable to the function, and a
 * shared writable one (/tmp) would let a hostile function squat on another's ~/.cache: each
 * gets `<data>/home/<uid>`, 0700, its own.
 */
export function withFunctionHome(env: Record<string, string>, fn: FunctionSpec): Record<string, string> {
  if (fn.runAs !== undefined && fn.environmentVariables['HOME'] === undefined) env['HOME'] = fn.runAs.home;
  return env;
}
