/**
 * The data directory's permissions (docs/runtime-node.md §10). It holds the Async store (calls'
 * events and results), the functions' logs, and, with containment, their staged code and homes.
 *
 *   <data>/                 0711 root with contained functions (they traverse it to reach their
 *                           code and home; no one lists it), else 0700
 *     async.db, -wal, -shm  0600
 *     logs/                 0700, files 0600
 *     function-uids.json    0600
 *     code/                 0711: see code-stager.ts (each function's 0550 root:<its gid>)
 *     home/                 0711; home/<uid> 0700 <uid>:<gid>
 *
 * Everything is born with its final mode (mkdir/open with an explicit mode, never widened by a
 * umask), and async.db is created here, empty and 0600, before SQLite opens it: SQLite gives
 * its -wal and -shm files the database file's mode, so there is no window in which any of them
 * is readable by others. A directory from before (or tampered with) is tightened at start, and
 * the caller logs what changed.
 */
import { chmodSync, chownSync, closeSync, lstatSync, mkdirSync, openSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { STORE_FILE_NAME } from '../async/store-schema.js';
import { FUNCTION_UIDS_FILE } from './function-uids.js';

/** Managed by the containment with their own modes (code-stager.ts, containment.ts). */
export const CODE_DIR = 'code';
export const HOME_DIR = 'home';

export interface LockDown {
  /** `path: 0755 -> 0700`, one per change. */
  changed: string[];
  /** Things left as they are, with why (a shared directory such as /tmp). */
  notes: string[];
}

/**
 * Create or tighten `dir`. `traversable`: contained functions must walk through it to their
 * code, so it is 0711; otherwise 0700. Idempotent; runs before the store opens.
 */
export function lockDownDataDir(dir: string, traversable: boolean): LockDown {
  const result: LockDown = { changed: [], notes: [] };
  const mode = traversable ? 0o711 : 0o700;
  mkdirSync(dirname(dir), { recursive: true });
  try {
    mkdirSync(dir, { mode });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  const stat = statSync(dir);
  if ((stat.mode & 0o1000) !== 0) {
    // /tmp and the like: other users' files live there too; tightening it would break them.
    result.notes.push(`${dir} is a shared directory (sticky bit): its own mode is left as it is; use a dedicated --data directory`);
  } else {
    setMode(dir, mode, result);
  }
  const logs = join(dir, 'logs');
  try {
    mkdirSync(logs, { mode: 0o700 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  // An empty file is an empty SQLite database; created 0600 so its WAL and SHM are too.
  closeSync(openSync(join(dir, STORE_FILE_NAME), 'a', 0o600));
  // Only what the gateway itself writes here: a file another part put in the data directory
  // (one a broker reads, say) keeps the mode it was given.
  for (const name of readdirSync(dir)) {
    if (OWN_ENTRIES.has(name)) tighten(join(dir, name), result);
  }
  return result;
}

/** The store and its WAL/SHM/journal, the logs, the uid map (and its temporary twin). */
const OWN_ENTRIES: ReadonlySet<string> = new Set([
  ...['', '-wal', '-shm', '-journal'].map((suffix) => `${STORE_FILE_NAME}${suffix}`),
  'logs',
  FUNCTION_UIDS_FILE,
  `${FUNCTION_UIDS_FILE}.tmp`,
]);

/** Group and other bits off, down the tree; symlinks are not followed. */
function tighten(path: string, result: LockDown): void {
  const stat = lstatSync(path);
  if (stat.isSymbolicLink()) return;
  if (stat.isDirectory()) {
    setMode(path, (stat.mode & 0o777 & ~0o077) | 0o700, result);
    for (const name of readdirSync(path)) tighten(join(path, name), result);
  } else {
    setMode(path, stat.mode & 0o777 & ~0o077, result);
  }
}

function setMode(path: string, mode: number, result: LockDown): void {
  const stat = lstatSync(path);
  const uid = process.getuid?.();
  // As root, a file of another user in our directory is not that user's to change any more.
  if (uid === 0 && (stat.uid !== 0 || stat.gid !== 0)) {
    chownSync(path, 0, 0);
    result.changed.push(`${path}: owner ${stat.uid}:${stat.gid} -> 0:0`);
  }
  if ((stat.mode & 0o7777) === mode) return;
  chmodSync(path, mode);
  result.changed.push(`${path}: ${octal(stat.mode & 0o7777)} -> ${octal(mode)}`);
}

function octal(mode: number): string {
  return mode.toString(8).padStart(4, '0');
}

/**
 * The first directory on the way to `dir` (its ancestors and itself) that a user other than its
 * owner cannot traverse (no o+x), or undefined: contained functions reach their code through
 * every one of them.
 */
export function untraversableAncestor(dir: string): string | undefined {
  let current = realpathSync.native(dir);
  for (;;) {
    if ((statSync(current).mode & 0o001) === 0) return current;
    const parent = dirname(current);
    if (parent === current) return undefined;
    current = parent;
  }
}
