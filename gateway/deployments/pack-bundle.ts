/**
 * Pack a template and each of its functions' code directories into a bundle (bundle-format.ts),
 * as `edgefc deploy` does on an operator's machine and the gateway does for a template named
 * by path. The template is loaded (and so checked) first: a template that would be refused is
 * refused before anything is uploaded. Paths in the bundle are relative to the template's
 * directory, so code directories must be inside it; `.edgefcignore` there leaves files out.
 */
import { createHash } from 'node:crypto';
import { readFile, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { InvalidArgumentError } from 'edgefc/errors';
import { loadTemplate, type LoadTemplateOptions } from '../registry/load-template.js';
import { encodeBundle, type BundleFile } from './bundle-format.js';
import { IGNORE_FILE, IgnoreRules } from './ignore-file.js';

/** 64 MiB: the samples with their node_modules pack to well under 1 MiB; a bigger bundle is usually a forgotten build directory. */
export const DEFAULT_MAX_BUNDLE_BYTES = 64 * 1024 * 1024;

export interface PackedBundle {
  bytes: Buffer;
  sha256: string;
  /** Files packed. */
  files: number;
  /** Functions of the template, `S/F`. */
  functions: string[];
}

export async function packTemplate(templatePath: string, options: { maxBytes?: number } & Pick<LoadTemplateOptions, 'onImportMessage'> = {}): Promise<PackedBundle> {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BUNDLE_BYTES;
  const absTemplate = path.resolve(templatePath);
  // An s.yaml or Funcraft file is packed as it is; the gateway converts it again when it loads the bundle.
  const template = await loadTemplate(absTemplate, options.onImportMessage === undefined ? {} : { onImportMessage: options.onImportMessage });
  const root = path.dirname(absTemplate);
  const ignore = new IgnoreRules(await readFile(path.join(root, IGNORE_FILE), 'utf8').catch(() => ''));
  const files = new Map<string, BundleFile>();
  let total = 0;
  const add = async (abs: string, rel: string, mode: number): Promise<void> => {
    if (files.has(rel)) return;
    const data = await readFile(abs);
    total += data.length;
    if (total > maxBytes) throw new InvalidArgumentError(`the bundle is larger than ${maxBytes} bytes (at ${rel}); leave files out with ${IGNORE_FILE} or raise the limit (--max-bundle-bytes)`);
    files.set(rel, { path: rel, mode, data });
  };
  const walk = async (dir: string, depth: number): Promise<void> => {
    if (depth > 64) throw new InvalidArgumentError(`${dir}: directories nested more than 64 deep (a symlink loop?)`);
    const entries = await readdir(dir);
    entries.sort();
    for (const name of entries) {
      const abs = path.join(dir, name);
      const rel = toBundlePath(root, abs);
      const info = await stat(abs).catch(() => undefined); // follows symlinks; a dangling one is skipped
      if (info === undefined) continue;
      if (info.isDirectory()) {
        if (!ignore.ignores(rel, true)) await walk(abs, depth + 1);
      } else if (info.isFile() && !ignore.ignores(rel, false)) {
        await add(abs, rel, info.mode);
      }
    }
  };
  await add(absTemplate, toBundlePath(root, absTemplate), 0o644);
  const codeDirs = [...new Set(template.functions.map((fn) => fn.codeDir))].sort();
  for (const dir of codeDirs) {
    const rel = path.relative(root, dir);
    if (rel.startsWith('..') || path.isAbsolute(rel)) {
      throw new InvalidArgumentError(`${dir}: a function's code directory must be inside the template's directory ${root} to be deployed (paths in a bundle are relative to it)`);
    }
    if (rel === '') await walk(root, 0);
    else if (!ignore.ignores(rel, true)) await walk(dir, rel.split(path.sep).length);
  }
  const bytes = encodeBundle({ template: toBundlePath(root, absTemplate), files: [...files.values()] });
  return {
    bytes,
    sha256: createHash('sha256').update(bytes).digest('hex'),
    files: files.size,
    functions: template.functions.map((fn) => `${fn.serviceName}/${fn.name}`),
  };
}

function toBundlePath(root: string, abs: string): string {
  return path.relative(root, abs).split(path.sep).join('/');
}
