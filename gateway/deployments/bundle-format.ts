/**
 * The deploy bundle (docs/protocol.md §9.9): one byte string holding a template and its
 * functions' code, what `edgefc deploy` uploads and what the gateway keeps per deployment.
 *
 *   EDGEFC-BUNDLE 1\n
 *   {"template": "template.yml", "files": N}\n
 *   then N times:  {"path": "dir/file.js", "size": BYTES, "mode": 420}\n  followed by BYTES bytes
 *
 * Paths are relative, `/`-separated, with no `.`, `..` or empty segments and no duplicates;
 * `mode` keeps only the permission bits (0o755 or 0o644: a custom runtime's bootstrap must stay
 * executable). Entries are in path order, so the same tree always packs to the same bytes and
 * the same sha256.
 */
import { InvalidArgumentError } from 'edgefc/errors';

export const BUNDLE_MAGIC = 'EDGEFC-BUNDLE 1\n';

export interface BundleFile {
  path: string;
  mode: number;
  data: Buffer;
}

export interface Bundle {
  /** The template's path inside the bundle. */
  template: string;
  files: BundleFile[];
}

export function encodeBundle(bundle: Bundle): Buffer {
  const files = [...bundle.files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const parts: Buffer[] = [Buffer.from(BUNDLE_MAGIC), Buffer.from(`${JSON.stringify({ template: bundle.template, files: files.length })}\n`)];
  for (const file of files) {
    assertBundlePath(file.path);
    parts.push(Buffer.from(`${JSON.stringify({ path: file.path, size: file.data.length, mode: normalMode(file.mode) })}\n`), file.data);
  }
  return Buffer.concat(parts);
}

export function decodeBundle(bytes: Buffer): Bundle {
  let at = 0;
  const line = (what: string): Record<string, unknown> => {
    const end = bytes.indexOf(0x0a, at);
    if (end === -1 || end - at > 64 * 1024) throw bad(`${what} is not a JSON line`);
    let value: unknown;
    try {
      value = JSON.parse(bytes.subarray(at, end).toString('utf8'));
    } catch {
      throw bad(`${what} is not a JSON line`);
    }
    at = end + 1;
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw bad(`${what} is not a JSON object`);
    return value as Record<string, unknown>;
  };
  if (!bytes.subarray(0, BUNDLE_MAGIC.length).equals(Buffer.from(BUNDLE_MAGIC))) throw bad(`it does not start with "${BUNDLE_MAGIC.trim()}"`);
  at = BUNDLE_MAGIC.length;
  const head = line('the header');
  const template = head['template'];
  const count = head['files'];
  if (typeof template !== 'string') throw bad('the header has no "template"');
  if (typeof count !== 'number' || !Number.isInteger(count) || count < 1 || count > 1_000_000) throw bad('the header\'s "files" is not a count');
  const files: BundleFile[] = [];
  const seen = new Set<string>();
  for (let i = 0; i < count; i += 1) {
    const entry = line(`entry ${i + 1}`);
    const { path, size, mode } = entry;
    if (typeof path !== 'string') throw bad(`entry ${i + 1} has no "path"`);
    assertBundlePath(path);
    if (seen.has(path)) throw bad(`${path} is in it twice`);
    seen.add(path);
    if (typeof size !== 'number' || !Number.isInteger(size) || size < 0 || at + size > bytes.length) throw bad(`${path}: its size runs past the end`);
    files.push({ path, mode: typeof mode === 'number' ? normalMode(mode) : 0o644, data: bytes.subarray(at, at + size) });
    at += size;
  }
  if (at !== bytes.length) throw bad(`${bytes.length - at} bytes follow the last entry`);
  assertBundlePath(template);
  if (!seen.has(template)) throw bad(`its template ${template} is not one of its files`);
  return { template, files };
}

export function assertBundlePath(path: string): void {
  const segments = path.split('/');
  if (path === '' || path.length > 4096 || path.includes('\\') || path.includes('\0') || segments.some((s) => s === '' || s === '.' || s === '..')) {
    throw bad(`${JSON.stringify(path.slice(0, 200))} is not a relative path inside the bundle`);
  }
}

function normalMode(mode: number): number {
  return mode & 0o111 ? 0o755 : 0o644;
}

function bad(why: string): InvalidArgumentError {
  return new InvalidArgumentError(`bad deploy bundle: ${why} (§9.9)`);
}
