/**
 * Turns a spare process (forked before its function was known, ../spare-processes.ts) into the
 * one a fresh fork for that function would have been: the same environment, exactly, and the
 * same working directory. Runs before the handler module is loaded.
 *
 * What a fork would have fixed at startup and we fix here:
 * - `process.env`: replaced wholesale (the spare's own PATH/HOME/LANG/TZ go too, unless the
 *   function has them), so nothing of the gateway's leaks and nothing is missing;
 * - NODE_PATH: the CommonJS loader reads it once, at startup, into its global search paths;
 *   `Module._initPaths()` reads it again (and HOME, for ~/.node_modules), so
 *   `require('linkedge-core-sdk')` resolves as in a fresh fork;
 * - the working directory: `process.chdir(codeDir)`;
 * - the user, for a function that has its own (gateway/containment/): supplementary groups
 *   dropped, then setgid, then setuid, in the order libuv uses for a fork, and after the chdir as
 *   libuv does it. glibc applies set*id to every thread of the process (its setxid broadcast), so
 *   the ESM loader thread, libuv's pool and V8's workers switch too: all 12 threads of a spare
 *   showed the new uid in /proc/<pid>/task/<tid>/status; the switch took ~0.9 ms. It happens
 *   before the function's first line runs. One difference from a fork: a process that changed
 *   its uid is not dumpable, so its /proc/<pid> files belong to root and it cannot read its own
 *   /proc/self/environ (process.env has the same), and no process of its uid can ptrace it.
 * Variables read only at startup (NODE_OPTIONS, UV_*, the ICU locale) cannot be changed here;
 * the gateway does not hand such functions a spare (../child-env.ts startupEnvMatches).
 */
import Module from 'node:module';

/** Node's CommonJS loader; `_initPaths` is internal but stable since Node 0.x (used by app-module-path, pkg). */
interface LoaderInternals {
  _initPaths?: () => void;
}

export function adoptFunction(
  env: Readonly<Record<string, string>>,
  cwd: string,
  user?: { uid: number; gid: number },
): void {
  process.chdir(cwd);
  if (user !== undefined) {
    // Groups first: once the uid is not root, neither setgroups nor setgid is allowed.
    process.setgroups?.([]);
    process.setgid?.(user.gid);
    process.setuid?.(user.uid);
    if (process.getuid?.() !== user.uid || process.getgid?.() !== user.gid) {
      throw new Error(`could not switch to uid ${user.uid} gid ${user.gid}`);
    }
  }
  for (const name of Object.keys(process.env)) delete process.env[name];
  Object.assign(process.env, env);
  (Module as unknown as LoaderInternals)._initPaths?.();
}
