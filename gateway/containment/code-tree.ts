/**
 * What of a function's codeUri gets staged (code-stager.ts): its regular files, directories and
 * the symlinks that stay inside it, walked without following any link.
 *
 * The gateway stages as root, so a symlink it followed could copy anything on the box
 * (`secrets -> /etc/shadow`) into a directory the function can read. A symlink is kept only
 * when the path it resolves to on disk (realpath(3), as the kernel walks it, `..` after a
 * link included) is inside codeUri; it is written back as the shortest relative path from its
 * directory to that target, so in the staged copy it resolves to the same file and never climbs
 * out on the way. Symlinks that leave codeUri or point at nothing, and devices, FIFOs and
 * sockets, are not staged; the caller says which.
 *
 * Each entry carries what lstat says of it (size, times, inode), the tree's fingerprint: an
 * unchanged fingerprint lets a restage skip reading the files (code-stager.ts).
 */
import { lstatSync, readdirSync, readlinkSync, realpathSync, type BigIntStats } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';

export type CodeEntry =
  | { kind: 'dir'; path: string }
  | { kind: 'file'; path: string; size: number; executable: boolean }
  | { kind: 'symlink'; path: string; target: string };

export interface CodeTree {
  /** realpath of codeUri. */
  root: string;
  /** Paths relative to root, with '/', parents before children, sorted: the hash depends on this order. */
  entries: CodeEntry[];
  /** Not staged, with why: `lib/x -> /etc/passwd (leaves codeUri)`. */
  skipped: string[];
  /**
   * One line per entry of lstat's view (device, inode, mode, size, mtime and ctime in ns): any
   * write to a file changes its ctime, which no unprivileged process can set back.
   */
  fingerprint: string[];
}

export function readCodeTree(codeDir: string): CodeTree {
  const root = realpathSync.native(codeDir);
  const tree: CodeTree = { root, entries: [], skipped: [], fingerprint: [statLine('.', lstatSync(root, { bigint: true }))] };
  const walk = (rel: string): void => {
    const names = readdirSync(join(root, rel)).sort();
    for (const name of names) {
      const path = rel === '' ? name : `${rel}/${name}`;
      const abs = join(root, path);
      const stat = lstatSync(abs, { bigint: true });
      tree.fingerprint.push(statLine(path, stat));
      if (stat.isDirectory()) {
        tree.entries.push({ kind: 'dir', path });
        walk(path);
      } else if (stat.isFile()) {
        tree.entries.push({ kind: 'file', path, size: Number(stat.size), executable: (stat.mode & 0o111n) !== 0n });
      } else if (stat.isSymbolicLink()) {
        const target = insideTarget(root, abs);
        if (typeof target === 'string') tree.entries.push({ kind: 'symlink', path, target });
        else tree.skipped.push(`${path} -> ${readlinkSync(abs)} (${target.why})`);
      } else {
        tree.skipped.push(`${path} (not a file, directory or symlink)`);
      }
    }
  };
  walk('');
  return tree;
}

function statLine(path: string, stat: BigIntStats): string {
  return `${path}\0${stat.dev}:${stat.ino}:${stat.mode}:${stat.size}:${stat.mtimeNs}:${stat.ctimeNs}`;
}

/** The link's target as a relative path that stays inside root, or why it cannot be staged. */
function insideTarget(root: string, link: string): string | { why: string } {
  let resolved: string;
  try {
    // .native: realpath(3), the kernel's walk. fs.realpathSync's own JS walk resolves `..` after
    // a symlink lexically: for `x/y/s/../../..` with s -> ../../lib it answered codeUri itself,
    // where the kernel lands above it.
    resolved = realpathSync.native(link);
  } catch {
    return { why: 'points at nothing' };
  }
  if (resolved !== root && !resolved.startsWith(root + sep)) return { why: 'leaves codeUri' };
  // The link's own directory is real (the walk does not descend through links), so the
  // relative path climbs only real directories of the copy, then walks the target's real path.
  const target = relative(dirname(link), resolved);
  return target === '' ? '.' : target;
}
