/**
 * Where a gateway keeps its state (`--data`): the Async store, logs, the access file, the local
 * operator credential. The CLI on the same box finds the gateway's credential through the same rule.
 */
import { homedir } from 'node:os';
import { resolve } from 'node:path';

export const DATA_DIR_ENV = 'EDGEFC_DATA_DIR';

/** `--data` / `dataDir` default: `$EDGEFC_DATA_DIR`, else `.edgefc` in the working directory (gitignored). */
export function defaultDataDir(env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env[DATA_DIR_ENV];
  if (fromEnv !== undefined && fromEnv !== '') return resolve(fromEnv.replace(/^~(?=$|\/)/, homedir()));
  return resolve('.edgefc');
}
