/**
 * Stages a function's code where only that function can read it: a copy of codeUri under
 * `<data>/code/<uid>/<hash>/`, owned by root with the function's group, directories 0550, files
 * 0440 (0550 when executable). Group, not owner: an owner could chmod its code writable, and
 * this directory is shared by every instance and reused at every start while the content is
 * the same. Other functions have another gid and no bits for "other": EACCES.
 *
 * Content-addressed: the directory is named after a SHA-256 of the tree (paths, executable
 * bits, file contents, symlink targets), so a changed function gets a new directory while the
 * old instances finish on the old one. A copy is built in `<data>/code/.staging/` and renamed
 * into place whole: an instance never sees half a copy. The name is the hash of the bytes
 * copied, not of an earlier read, so a codeUri edited while it is staged cannot make a name lie.
 *
 * Restaging unchanged code (every start, every redeploy) reads no file: the tree's lstat
 * fingerprint (code-tree.ts) is recorded in `<data>/code/.index/` next to the hash it was
 * staged as, and an identical fingerprint reuses that directory. A different fingerprint (a
 * touched file, a fresh checkout) hashes the contents first and copies only when they differ.
 *
 * Why a copy and not the original with tighter modes: codeUri belongs to whoever deploys (a
 * checkout, a package), and chmod/chown there would change their files; a bind mount per
 * function needs a mount namespace per process. Measured: docs/runtime-node.md §10.2.
 */
import { createHash, randomBytes, type Hash } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  closeSync,
  constants,
  fchmodSync,
  fchownSync,
  fstatSync,
  lchownSync,
  mkdirSync,
  openSync,
  readFileSync,
  readlinkSync,
  readSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { readdir, readFile, rm } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { readCodeTree, type CodeEntry } from './code-tree.js';

/** 1 MiB: a read per MiB keeps the per-call overhead negligible without holding a large file in memory. */
const CHUNK_BYTES = 1024 * 1024;

export const STAGING_DIR = '.staging';
const INDEX_DIR = '.index';

export interface StagedCode {
  /** `<codeRoot>/<uid>/<hash>`: the function's codeDir from now on. */
  dir: string;
  hash: string;
  files: number;
  bytes: number;
  /** How the directory came to be: copied now, found by fingerprint, or found by content hash. */
  how: 'copied' | 'fingerprint' | 'hashed';
  /** Not staged: escaping or dangling symlinks, special files (code-tree.ts). */
  skipped: string[];
}

/**
 * Make `<codeRoot>`: traversable by everyone (0711), listable by no one but root, and holding
 * an empty package.json so that Node's lookup of the "type" of a staged `.js` file stops here
 * instead of reaching a package.json above the data directory (a repository's `"type":
 * "module"` would turn FC's CommonJS handlers into ES modules). Only codeUri is the function,
 * as in FC, where codeUri is what gets uploaded.
 */
export function prepareCodeRoot(codeRoot: string): void {
  mkdirSync(codeRoot, { recursive: true, mode: 0o711 });
  chmodSync(codeRoot, 0o711);
  chownSync(codeRoot, 0, 0);
  const staging = join(codeRoot, STAGING_DIR);
  // Left by a start that died mid-copy: nothing uses it.
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { mode: 0o700 });
  mkdirSync(join(codeRoot, INDEX_DIR), { recursive: true, mode: 0o700 });
  chmodSync(join(codeRoot, INDEX_DIR), 0o700);
  const boundary = join(codeRoot, 'package.json');
  writeFileSync(boundary, '{}\n', { mode: 0o444 });
  chmodSync(boundary, 0o444);
}

/**
 * Stage `codeDir` for the function running as `uid`/`gid` (prepareCodeRoot first). Synchronous
 * syscalls, in a worker thread (stage-thread.ts), never on the gateway's event loop.
 */
export function stageCode(codeDir: string, codeRoot: string, uid: number, gid: number): StagedCode {
  const tree = readCodeTree(codeDir);
  const owned = join(codeRoot, String(uid));
  mkdirSync(owned, { recursive: true, mode: 0o550 });
  chmodSync(owned, 0o550);
  chownSync(owned, 0, gid);
  const files = tree.entries.filter((entry) => entry.kind === 'file');
  const bytes = files.reduce((sum, entry) => sum + entry.size, 0);
  const result = (hash: string, how: StagedCode['how']): StagedCode => ({ dir: join(owned, hash), hash, files: files.length, bytes, how, skipped: tree.skipped });

  const index = join(codeRoot, INDEX_DIR, createHash('sha256').update(`${uid}\0${tree.root}\0${tree.fingerprint.join('\n')}`).digest('hex').slice(0, 32));
  const known = readIndex(index, uid);
  if (known !== undefined && isDirectory(join(owned, known))) return result(known, 'fingerprint');

  const before = hashTree(tree.root, tree.entries, undefined);
  if (isDirectory(join(owned, before))) {
    writeIndex(index, uid, before);
    return result(before, 'hashed');
  }
  const building = join(codeRoot, STAGING_DIR, randomBytes(8).toString('hex'));
  try {
    mkdirSync(building, { mode: 0o700 });
    const hash = hashTree(tree.root, tree.entries, { dest: building, gid });
    const dir = join(owned, hash);
    chmodSync(building, 0o550);
    chownSync(building, 0, gid);
    // Staged meanwhile with the same content (the tree changed back during the copy): keep that one.
    if (isDirectory(dir)) rmSync(building, { recursive: true, force: true });
    else renameSync(building, dir);
    // Indexed only when what was copied is what the fingerprint described.
    if (hash === before) writeIndex(index, uid, hash);
    return result(hash, 'copied');
  } catch (error) {
    rmSync(building, { recursive: true, force: true });
    throw error;
  }
}

/**
 * Remove staged code no function uses: every `<codeRoot>/<uid>/<hash>` not in `keep`, then
 * `<uid>` directories left empty, and index entries naming what is gone. Only call when no
 * instance can be running from them. Through libuv's pool, unlike staging: nothing waits for
 * it, and a 2,000-file tree removed inline would hold the event loop for tens of ms.
 */
export async function removeUnusedCode(codeRoot: string, keep: ReadonlySet<string>): Promise<number> {
  let removed = 0;
  for (const owner of await readdir(codeRoot).catch(() => [])) {
    if (!/^\d+$/.test(owner)) continue;
    const ownerDir = join(codeRoot, owner);
    const versions = await readdir(ownerDir);
    let left = versions.length;
    for (const version of versions) {
      const dir = join(ownerDir, version);
      if (keep.has(dir)) continue;
      await rm(dir, { recursive: true, force: true });
      removed += 1;
      left -= 1;
    }
    if (left === 0) await rm(ownerDir, { recursive: true, force: true });
  }
  const indexDir = join(codeRoot, INDEX_DIR);
  for (const name of await readdir(indexDir).catch(() => [])) {
    const named = (await readFile(join(indexDir, name), 'utf8').catch(() => '')).trim();
    if (named === '' || !isDirectory(join(codeRoot, named))) await rm(join(indexDir, name), { force: true });
  }
  return removed;
}

/** The hash an index entry records for `uid`, if it is one. */
function readIndex(file: string, uid: number): string | undefined {
  try {
    const [owner, hash] = readFileSync(file, 'utf8').trim().split('/');
    return owner === String(uid) && hash !== undefined && /^[0-9a-f]{32}$/.test(hash) ? hash : undefined;
  } catch {
    return undefined;
  }
}

function writeIndex(file: string, uid: number, hash: string): void {
  writeFileSync(`${file}.tmp`, `${uid}/${hash}\n`, { mode: 0o600 });
  renameSync(`${file}.tmp`, file);
}

/**
 * SHA-256 of the tree, 32 hex digits (128 bits). With `copy`, each entry is also written under
 * `copy.dest` with its staged owner and mode, and the hash is of the bytes written.
 */
function hashTree(root: string, entries: readonly CodeEntry[], copy: { dest: string; gid: number } | undefined): string {
  const tree = createHash('sha256');
  const buffer = Buffer.allocUnsafe(CHUNK_BYTES);
  for (const entry of entries) {
    switch (entry.kind) {
      case 'dir':
        tree.update(`d\0${entry.path}\n`);
        if (copy !== undefined) {
          const dir = join(copy.dest, entry.path);
          // 0700 while it fills (root writes into it regardless); 0550 once everything below is done.
          mkdirSync(dir, { mode: 0o700 });
          chownSync(dir, 0, copy.gid);
        }
        break;
      case 'symlink':
        tree.update(`l\0${entry.path}\0${entry.target}\n`);
        if (copy !== undefined) {
          const link = join(copy.dest, entry.path);
          symlinkSync(entry.target, link);
          lchownSync(link, 0, copy.gid);
        }
        break;
      case 'file': {
        const content = createHash('sha256');
        copyFile(root, entry.path, copy, entry.executable, content, buffer);
        tree.update(`f\0${entry.path}\0${entry.executable ? 'x' : '-'}\0${content.digest('hex')}\n`);
        break;
      }
    }
  }
  if (copy !== undefined) {
    // Deepest first, so a directory is closed (0550) only once what is below it is done.
    for (const entry of [...entries].reverse()) {
      if (entry.kind === 'dir') chmodSync(join(copy.dest, entry.path), 0o550);
    }
  }
  return tree.digest('hex').slice(0, 32);
}

/**
 * Read `root/path` (hashing it), writing it under `copy.dest` when given: root:gid, 0440 or
 * 0550. The walk saw a regular file there; if codeUri changed since, what is opened may not be
 * one, so: no following a final symlink (O_NOFOLLOW), a regular file, and still inside `root`
 * (the kernel's own name for the open file, /proc/self/fd) — or the stage fails.
 */
function copyFile(root: string, path: string, copy: { dest: string; gid: number } | undefined, executable: boolean, hash: Hash, buffer: Buffer): void {
  const from = join(root, path);
  const source = openSync(from, constants.O_RDONLY | constants.O_NOFOLLOW);
  let dest: number | undefined;
  try {
    let opened = from;
    try {
      opened = readlinkSync(`/proc/self/fd/${source}`);
    } catch {
      // No /proc (not Linux): O_NOFOLLOW and the file check below still hold.
    }
    if (!fstatSync(source).isFile() || !opened.startsWith(root + sep)) {
      throw new Error(`${from} changed while it was staged (now ${opened}, not a file inside codeUri)`);
    }
    if (copy !== undefined) dest = openSync(join(copy.dest, path), 'wx', 0o600);
    for (;;) {
      const bytesRead = readSync(source, buffer, 0, buffer.length, null);
      if (bytesRead === 0) break;
      const chunk = buffer.subarray(0, bytesRead);
      hash.update(chunk);
      for (let written = 0; dest !== undefined && written < chunk.length; ) {
        written += writeSync(dest, chunk, written, chunk.length - written);
      }
    }
    if (dest !== undefined && copy !== undefined) {
      fchownSync(dest, 0, copy.gid);
      fchmodSync(dest, executable ? 0o550 : 0o440);
    }
  } finally {
    closeSync(source);
    if (dest !== undefined) closeSync(dest);
  }
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
