/**
 * Errors every process-based runtime raises the same way, so callers see one vocabulary of
 * `errorType`s whatever the runtime (docs/runtime-custom.md §Errors).
 */
import { DeadlineExceededError, UnhandledInvocationError } from 'edgefc/errors';
import type { EdgeFCError } from 'edgefc/errors';
import type { FunctionSpec } from '../../registry/types.js';
import { DEFAULT_BOOTSTRAP } from '../../registry/template-schema.js';
import { join } from 'node:path';

/** errorType values of UnhandledInvocationError raised by the gateway about an instance. */
export const InstanceErrorType = {
  /** Over memorySize (RSS of the process tree), killed. */
  MemoryLimitExceeded: 'MemoryLimitExceeded',
  /** The process exited or was killed while a call was running on it. */
  ProcessExited: 'ProcessExited',
  /** FC's name: the server never accepted connections, or the runtime API client never asked for work. */
  FunctionNotStarted: 'FunctionNotStarted',
  /** The answer was over MAX_RESULT_BYTES (6 MiB). */
  ResultTooLarge: 'ResultTooLarge',
} as const;

export type FailureReason = (requestId: string) => EdgeFCError;

export function memoryExceeded(fn: FunctionSpec, rssBytes: number): FailureReason {
  const used = Math.round(rssBytes / (1024 * 1024));
  return (requestId) =>
    new UnhandledInvocationError(
      {
        errorType: InstanceErrorType.MemoryLimitExceeded,
        errorMessage: `${fn.name} used ${used} MB, over its memorySize of ${fn.memorySizeMB} MB; the instance was killed`,
      },
      { requestId },
    );
}

export function deadlineExceeded(fn: FunctionSpec, requestId: string): DeadlineExceededError {
  return new DeadlineExceededError(`the caller's deadline passed before ${fn.name} could start`, { requestId });
}

export function timeoutMessage(fn: FunctionSpec, budgetMs: number): string {
  const limitedBy = budgetMs < fn.timeoutMs ? "the caller's deadline" : 'the function timeout';
  return `${fn.name} ran past ${budgetMs} ms (${limitedBy})`;
}

/** The program and its arguments; a spec without customRuntimeConfig runs codeDir/bootstrap. */
export function commandOf(fn: FunctionSpec): { command: string; args: string[] } {
  const config = fn.customRuntimeConfig;
  const [program, ...rest] = config?.command ?? [];
  if (program === undefined) return { command: join(fn.codeDir, DEFAULT_BOOTSTRAP), args: [...(config?.args ?? [])] };
  return { command: program, args: [...rest, ...(config?.args ?? [])] };
}
