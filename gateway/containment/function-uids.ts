/**
 * One uid per function, stable across restarts and redeploys: kept in
 * `<data>/function-uids.json` (mode 0600). Stable matters because what a function leaves behind
 * (files in /tmp, its home) is owned by its uid: a function that came back with another uid
 * could not read its own files, and one that inherited a uid could read another's.
 *
 * A function that leaves the template keeps its uid, so it gets it back if it returns and no
 * other function inherits its files. 65,536 uids by default (function-user.ts): a box would
 * need that many distinct functions over its life to run out, and is told so when it does.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ServiceUnavailableError } from 'edgefc/errors';

export const FUNCTION_UIDS_FILE = 'function-uids.json';

interface UidFile {
  version: 1;
  /** `Service/function` → uid (its gid is the same number). */
  uids: Record<string, number>;
}

export class FunctionUids {
  readonly #file: string;
  readonly #range: { first: number; last: number };
  readonly #uids = new Map<string, number>();
  readonly #taken = new Set<number>();

  /** Read the assignments in `dataDir` (none yet: an empty map); those outside `range` are dropped. */
  constructor(dataDir: string, range: { first: number; last: number }) {
    this.#file = join(dataDir, FUNCTION_UIDS_FILE);
    this.#range = range;
    for (const [key, uid] of Object.entries(readAssignments(this.#file))) {
      if (Number.isInteger(uid) && uid >= range.first && uid <= range.last && !this.#taken.has(uid)) {
        this.#uids.set(key, uid);
        this.#taken.add(uid);
      }
    }
  }

  /**
   * The uid of each function key, allocating the lowest free one for new keys. New assignments
   * are on disk (written whole, then renamed over the old file) before this returns, so a uid
   * is never handed to a process before it is recorded.
   */
  assign(keys: Iterable<string>): Map<string, number> {
    const out = new Map<string, number>();
    let changed = false;
    let next = this.#range.first;
    for (const key of keys) {
      let uid = this.#uids.get(key);
      if (uid === undefined) {
        while (this.#taken.has(next)) next += 1;
        if (next > this.#range.last) {
          throw new ServiceUnavailableError(
            `no free uid left for ${key} in ${this.#range.first}-${this.#range.last} (${FUNCTION_UIDS_FILE}): widen --function-user uids:FIRST-LAST`,
          );
        }
        uid = next;
        this.#uids.set(key, uid);
        this.#taken.add(uid);
        changed = true;
      }
      out.set(key, uid);
    }
    if (changed) this.#save();
    return out;
  }

  #save(): void {
    const body: UidFile = { version: 1, uids: Object.fromEntries([...this.#uids].sort(([a], [b]) => a.localeCompare(b))) };
    const tmp = `${this.#file}.tmp`;
    // Born 0600: the file says which uid is which function.
    writeFileSync(tmp, `${JSON.stringify(body, null, 2)}\n`, { mode: 0o600 });
    renameSync(tmp, this.#file);
  }
}

function readAssignments(file: string): Record<string, number> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new ServiceUnavailableError(`cannot read ${file}: ${(error as Error).message}`, { cause: error });
  }
  try {
    const parsed = JSON.parse(text) as Partial<UidFile>;
    if (parsed.version === 1 && typeof parsed.uids === 'object' && parsed.uids !== null) return parsed.uids;
  } catch {
    // Falls through to the error below.
  }
  throw new ServiceUnavailableError(`${file} is not an edgefc uid map; move it away to assign uids afresh (functions' old files keep their old owners)`);
}
