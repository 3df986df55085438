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
 * - the working directory: `process.chdir(codeDir)`.
 * Variables read only at startup (NODE_OPTIONS, UV_*, the ICU locale) cannot be changed here;
 * the gateway does not hand such functions a spare (../child-env.ts startupEnvMatches).
 */
import Module from 'node:module';

/** Node's CommonJS loader; `_initPaths` is internal but stable since Node 0.x (used by app-module-path, pkg). */
interface LoaderInternals {
  _initPaths?: () => void;
}

export function adoptFunction(env: Readonly<Record<string, string>>, cwd: string): void {
  process.chdir(cwd);
  for (const name of Object.keys(process.env)) delete process.env[name];
  Object.assign(process.env, env);
  (Module as unknown as LoaderInternals)._initPaths?.();
}
