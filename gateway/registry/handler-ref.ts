/**
 * FC's handler strings: `index.handler` names the export `handler` of the file `index.js`
 * (or `index.mjs` / `index.cjs`) in the function's code directory. The file part may hold
 * sub-directories (`lib/main.handler`) but never leaves the code directory.
 */
import { stat } from 'node:fs/promises';
import path from 'node:path';

/** Tried in this order; a template naming a file that exists with two of them is refused as ambiguous. */
export const HANDLER_EXTENSIONS = ['.js', '.mjs', '.cjs'] as const;

export interface HandlerRef {
  /** Path of the file without extension, relative to the code directory, `/`-separated. */
  file: string;
  /** Name of the exported function. */
  exportName: string;
}

const EXPORT_NAME = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
const FILE_SEGMENT = /^[A-Za-z0-9_@+-][A-Za-z0-9_.@+-]*$/;

/** Splits `file.export` at the last dot, or returns why the string is not a handler. */
export function parseHandler(value: string): HandlerRef | string {
  const dot = value.lastIndexOf('.');
  if (dot <= 0 || dot === value.length - 1) {
    return `must be "file.export", e.g. "index.handler" (got ${JSON.stringify(value)})`;
  }
  const file = value.slice(0, dot);
  const exportName = value.slice(dot + 1);
  if (!EXPORT_NAME.test(exportName)) {
    return `export name ${JSON.stringify(exportName)} is not a JavaScript identifier`;
  }
  const segments = file.split('/');
  if (segments.some((s) => s === '.' || s === '..' || !FILE_SEGMENT.test(s))) {
    return `file part ${JSON.stringify(file)} must be a relative path inside codeUri (letters, digits, "_", "-", "." and "/"; no ".." or leading "/")`;
  }
  return { file, exportName };
}

async function isFile(candidate: string): Promise<boolean> {
  try {
    return (await stat(candidate)).isFile();
  } catch {
    return false;
  }
}

/**
 * The absolute path of the handler's file in `codeDir`, or why there is none (missing, or
 * present under two extensions, where which one runs would depend on lookup order).
 */
export async function resolveHandlerFile(codeDir: string, ref: HandlerRef): Promise<{ file: string } | { problem: string }> {
  const base = path.join(codeDir, ...ref.file.split('/'));
  const found: string[] = [];
  for (const ext of HANDLER_EXTENSIONS) {
    if (await isFile(base + ext)) found.push(base + ext);
  }
  const names = HANDLER_EXTENSIONS.map((ext) => `${ref.file}${ext}`);
  const [first, second] = found;
  if (first === undefined) {
    return { problem: `no file ${names.slice(0, -1).join(', ')} or ${names.at(-1) ?? ''} in ${codeDir}` };
  }
  if (second !== undefined) {
    return {
      problem: `ambiguous: ${found.map((f) => path.basename(f)).join(' and ')} both exist in ${path.dirname(first)}; keep one`,
    };
  }
  return { file: first };
}
