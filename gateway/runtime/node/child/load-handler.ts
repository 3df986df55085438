/**
 * Resolving FC's `file.export` handler string to a function inside the code directory.
 *
 * `index.handler` → `<codeDir>/index.{js,mjs,cjs}`, export `handler`; `lib/app.main` →
 * `<codeDir>/lib/app.*`, export `main`. The module is loaded with dynamic `import()`, which
 * takes both ESM and CJS: for CJS, Node exposes `module.exports` as `default` and, where its
 * lexer can see them, the assigned properties as named exports.
 */
import { statSync } from 'node:fs';
import { isAbsolute, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { FunctionErrorFields } from 'edgefc/errors';
import { toErrorFields } from './error-fields.js';

/** Tried in this order; `.js` follows the nearest package.json `type`, as in plain Node. */
const EXTENSIONS = ['.js', '.mjs', '.cjs'] as const;

/** errorType for a handler string that does not name an existing file and exported function. */
export const HANDLER_NOT_FOUND = 'HandlerNotFound';

export type AnyFunction = (...args: unknown[]) => unknown;

export type LoadOutcome = { ok: true; fn: AnyFunction } | { ok: false; error: FunctionErrorFields };

/** Module namespaces already imported, so handler and initializer in one file load it once. */
const modules = new Map<string, Promise<Record<string, unknown>>>();

export async function loadExport(codeDir: string, handler: string): Promise<LoadOutcome> {
  const dot = handler.lastIndexOf('.');
  if (dot <= 0 || dot === handler.length - 1) {
    return notFound(`handler '${handler}' is not of the form 'file.export'`);
  }
  const modulePath = handler.slice(0, dot);
  const exportName = handler.slice(dot + 1);
  const file = findModuleFile(codeDir, modulePath);
  if (file === undefined) {
    return notFound(
      `handler '${handler}': no ${EXTENSIONS.map((ext) => modulePath + ext).join(', ')} inside the code directory`,
    );
  }
  let namespace: Record<string, unknown>;
  try {
    let loading = modules.get(file);
    if (loading === undefined) {
      loading = import(pathToFileURL(file).href) as Promise<Record<string, unknown>>;
      modules.set(file, loading);
    }
    namespace = await loading;
  } catch (err) {
    // The module threw while loading (syntax error, missing dependency): the function's own fault.
    return { ok: false, error: toErrorFields(err) };
  }
  const fn = pickExport(namespace, exportName);
  if (fn === undefined) {
    return notFound(`handler '${handler}': '${exportName}' is not an exported function of ${relative(codeDir, file)}`);
  }
  return { ok: true, fn };
}

function findModuleFile(codeDir: string, modulePath: string): string | undefined {
  const root = resolve(codeDir);
  for (const ext of EXTENSIONS) {
    const candidate = resolve(root, modulePath + ext);
    const rel = relative(root, candidate);
    // Refuse `../x.handler` and absolute module paths: a function loads only its own code.
    if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) return undefined;
    try {
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      // Not there; try the next extension.
    }
  }
  return undefined;
}

function pickExport(namespace: Record<string, unknown>, name: string): AnyFunction | undefined {
  const direct = namespace[name];
  if (typeof direct === 'function') return direct as AnyFunction;
  const fallback = namespace['default'];
  if ((typeof fallback === 'object' || typeof fallback === 'function') && fallback !== null) {
    const viaDefault = (fallback as Record<string, unknown>)[name];
    if (typeof viaDefault === 'function') return viaDefault as AnyFunction;
  }
  return undefined;
}

function notFound(errorMessage: string): LoadOutcome {
  return { ok: false, error: { errorType: HANDLER_NOT_FOUND, errorMessage } };
}
