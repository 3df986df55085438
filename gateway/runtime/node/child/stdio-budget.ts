/**
 * Counts what function code writes to `process.stdout` / `process.stderr` itself (console.* is
 * captured separately, console-capture.ts) against the same output budgets, and drops what is
 * past them here, in the function process, so the gateway never reads it.
 *
 * Why here: the gateway reads a function's pipes through Node streams, which allocate a fresh
 * 64 KiB buffer per read. Reading 100 MB only to drop it raised the gateway's RSS by 35-45 MB
 * (garbage the allocator keeps, measured on Node 20: +12 MB for 10 MB read, +41 MB for 100 MB,
 * +45 MB for 300 MB), whatever the gateway then does with the bytes. Stopping the flood at the
 * source is the only way the gateway's memory stays flat.
 *
 * A write is kept or dropped whole (its bytes counted, not its lines). When a write is dropped
 * after a kept one that did not end its line, a newline goes through instead, so the gateway's
 * line splitter is not left inside a line that would swallow the next call's first one.
 */
import { callScope, type CallScope } from './console-capture.js';

type WriteCallback = (error?: Error | null) => void;

export function budgetStdio(stream: NodeJS.WriteStream, outside: CallScope, onDropped: (scope: CallScope) => void): void {
  const write = stream.write.bind(stream) as (chunk: unknown, encoding?: unknown, callback?: unknown) => boolean;
  let lineOpen = false;
  const budgeted = (chunk: unknown, encodingOrCallback?: unknown, callback?: unknown): boolean => {
    const encoding = typeof encodingOrCallback === 'string' ? (encodingOrCallback as BufferEncoding) : 'utf8';
    const done = (typeof encodingOrCallback === 'function' ? encodingOrCallback : callback) as WriteCallback | undefined;
    const bytes = typeof chunk === 'string' ? Buffer.byteLength(chunk, encoding) : chunk instanceof Uint8Array ? chunk.length : 0;
    const scope = callScope.getStore() ?? outside;
    if (bytes === 0 || scope.output.take(bytes, 0)) {
      if (bytes > 0) lineOpen = !endsWithNewline(chunk);
      return write(chunk, encodingOrCallback, callback);
    }
    scope.output.addDropped(0, countNewlines(chunk));
    onDropped(scope);
    if (lineOpen) {
      lineOpen = false;
      write('\n');
    }
    if (done !== undefined) process.nextTick(done, null);
    return true;
  };
  stream.write = budgeted;
}

function endsWithNewline(chunk: unknown): boolean {
  if (typeof chunk === 'string') return chunk.endsWith('\n');
  return chunk instanceof Uint8Array && chunk[chunk.length - 1] === 0x0a;
}

/** Newlines in a dropped write, for the log's "N lines dropped": memchr speed, no copy. */
function countNewlines(chunk: unknown): number {
  let count = 0;
  if (typeof chunk === 'string') {
    for (let at = chunk.indexOf('\n'); at !== -1; at = chunk.indexOf('\n', at + 1)) count += 1;
  } else if (chunk instanceof Uint8Array) {
    const bytes = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length);
    for (let at = bytes.indexOf(0x0a); at !== -1; at = bytes.indexOf(0x0a, at + 1)) count += 1;
  }
  return count;
}
