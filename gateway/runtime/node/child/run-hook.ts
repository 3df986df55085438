/**
 * Running a lifecycle hook of a Node.js function — its initializer or its preStop — the same way
 * in a function process (runner.ts) and in the gateway (../in-process/): load the `file.export`,
 * call it with `(context, callback)` by FC's callback rules (run-handler.ts). Resolves with the
 * error fields of a hook that failed or did not load, undefined when it succeeded. Timeouts are
 * the caller's: a hook is given `abort`, whose signal the caller aborts when it gives up.
 */
import type { FunctionErrorFields } from 'edgefc/errors';
import { buildContext, type ContextSource } from './context.js';
import { toErrorFields } from './error-fields.js';
import { LazyAbort } from './lazy-abort.js';
import { loadExport } from './load-handler.js';
import { runWithCallback } from './run-handler.js';

export async function runLifecycleHook(
  source: ContextSource,
  handler: string,
  requestId: string,
  abort: LazyAbort = new LazyAbort(),
): Promise<FunctionErrorFields | undefined> {
  const loaded = await loadExport(source.spec.codeDir, handler);
  if (!loaded.ok) return loaded.error;
  const context = buildContext(source, { requestId, qualifier: '', invokerContext: undefined, abort });
  const outcome = await runWithCallback(loaded.fn, [context], 2);
  return outcome.kind === 'ok' ? undefined : toErrorFields(outcome.error);
}
