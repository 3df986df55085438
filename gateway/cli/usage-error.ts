/** A mistake in how the CLI was called: printed with the usage, exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/**
 * A failure of the file system (EACCES, ENOENT, ENOSPC, …) while a command does its work: the
 * operation failed (exit 1, printed like any failure), not the program.
 */
export function isFileSystemError(error: unknown): error is NodeJS.ErrnoException {
  return error instanceof Error && typeof (error as NodeJS.ErrnoException).code === 'string' && typeof (error as NodeJS.ErrnoException).syscall === 'string';
}
