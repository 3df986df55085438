/**
 * An append-only log file with size-based rotation (`f.log`, `f.log.1` … `f.log.<maxFiles-1>`),
 * written off the caller's path: `write()` only queues the text; a drain appends what has queued
 * in one write, `flushDelayMs` after the first queued line, so the lines of many calls share one
 * write (one file write per call was one more thread-pool round trip and event-loop wake-up per
 * call); lines that come in during that write wait for the next delay, unless 64 KiB of them
 * have. A call never waits on the disk, and a slow or full disk
 * costs the gateway at most `maxBufferedBytes` of memory per file: past that, lines are dropped
 * and counted, and the count is written as a marker line once the disk keeps up again.
 */
import { mkdir, open, rename, stat, type FileHandle } from 'node:fs/promises';
import path from 'node:path';

export interface RotatingFileOptions {
  /**
   * Rotate before the file would grow past this. A single line longer than this is still
   * written whole, into a fresh file.
   * @default 10 MiB
   */
  maxBytes?: number;
  /**
   * Files kept, the current one included: `f.log` and `f.log.1` … `f.log.<maxFiles-1>`; the
   * oldest is overwritten by the next rotation.
   * @default 5
   */
  maxFiles?: number;
  /**
   * Text queued for the disk past which new lines are dropped (and counted).
   * @default 4 MiB
   */
  maxBufferedBytes?: number;
  /** Told once per failure streak (ENOSPC, EACCES): the file keeps trying on later writes. */
  onError?: (error: unknown) => void;
  /**
   * How long a line may wait in memory for others to share its write. `flush()` and `close()`
   * write at once.
   * @default 10 ms
   */
  flushDelayMs?: number;
}

export const DEFAULT_LOG_FILE_BYTES = 10 * 1024 * 1024;
export const DEFAULT_LOG_FILES = 5;
const DEFAULT_MAX_BUFFERED_BYTES = 4 * 1024 * 1024;
const DEFAULT_FLUSH_DELAY_MS = 10;
/** Queued text a drain writes at once instead of waiting for the next delay. */
const DRAIN_AT_ONCE_BYTES = 64 * 1024;

export class RotatingFile {
  readonly path: string;
  readonly #maxBytes: number;
  readonly #maxFiles: number;
  readonly #maxBuffered: number;
  readonly #onError: ((error: unknown) => void) | undefined;
  readonly #flushDelayMs: number;
  #flushTimer: NodeJS.Timeout | undefined;
  /** Queued text, one entry per line (each ends with '\n'). */
  #queue: string[] = [];
  #queuedBytes = 0;
  #droppedLines = 0;
  #handle: FileHandle | undefined;
  #size = 0;
  #writing: Promise<void> | undefined;
  #failing = false;
  #closed = false;

  constructor(file: string, options: RotatingFileOptions = {}) {
    this.path = file;
    this.#maxBytes = options.maxBytes ?? DEFAULT_LOG_FILE_BYTES;
    this.#maxFiles = Math.max(1, options.maxFiles ?? DEFAULT_LOG_FILES);
    this.#maxBuffered = options.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED_BYTES;
    this.#onError = options.onError;
    this.#flushDelayMs = options.flushDelayMs ?? DEFAULT_FLUSH_DELAY_MS;
  }

  /** Queue one line (without its newline). Never blocks, never throws. */
  write(line: string): void {
    if (this.#closed) return;
    // Length in UTF-16 units: a cheap, close enough bound (at most 3 bytes each in UTF-8).
    if (this.#queuedBytes + line.length > this.#maxBuffered) {
      this.#droppedLines += 1;
      return;
    }
    if (this.#droppedLines > 0) {
      const marker = `… [edgefc: ${this.#droppedLines} lines dropped: the disk did not keep up]\n`;
      this.#droppedLines = 0;
      this.#queue.push(marker);
      this.#queuedBytes += marker.length;
    }
    this.#queue.push(`${line}\n`);
    this.#queuedBytes += line.length + 1;
    // A running drain takes the line with its next batch; otherwise one starts after the delay.
    if (this.#writing === undefined) this.#scheduleDrain();
  }

  #scheduleDrain(): void {
    if (this.#flushTimer !== undefined) return;
    this.#flushTimer = setTimeout(this.#startDrain, this.#flushDelayMs);
    this.#flushTimer.unref();
  }

  /** Resolves once everything queued so far is on disk (or given up on). */
  async flush(): Promise<void> {
    for (;;) {
      // Lines that came in during a write wait on the timer a drain leaves behind: take them now.
      if (this.#flushTimer !== undefined) this.#startDrain();
      if (this.#writing === undefined) return;
      await this.#writing;
    }
  }

  readonly #startDrain = (): void => {
    clearTimeout(this.#flushTimer);
    this.#flushTimer = undefined;
    this.#writing ??= this.#drain().finally(() => {
      this.#writing = undefined;
      // Lines queued between the drain's last look and now.
      if (this.#queue.length > 0 && !this.#closed) this.#scheduleDrain();
    });
  };

  /** Flush, then close the file; later writes are ignored. */
  async close(): Promise<void> {
    await this.flush();
    this.#closed = true;
    const handle = this.#handle;
    this.#handle = undefined;
    await handle?.close().catch(() => undefined);
  }

  /**
   * Write what has queued, and go on at once only while a batch's worth (DRAIN_AT_ONCE_BYTES)
   * came in during the write: a line that arrives while a write is in flight otherwise waits
   * for the next delay like any other. Writing whatever came in at once made a steady flow of
   * calls one file write each (one thread-pool round trip and event-loop wake-up per call: the
   * next call's lines were always there when the last write came back).
   */
  async #drain(): Promise<void> {
    for (let first = true; this.#queue.length > 0 && (first || this.#queuedBytes >= DRAIN_AT_ONCE_BYTES); first = false) {
      const lines = this.#queue;
      this.#queue = [];
      this.#queuedBytes = 0;
      try {
        await this.#append(lines);
        this.#failing = false;
      } catch (error) {
        // The batch is lost; say so once per streak, and try again with the next line.
        await this.#handle?.close().catch(() => undefined);
        this.#handle = undefined;
        if (!this.#failing) this.#onError?.(error);
        this.#failing = true;
        return;
      }
    }
  }

  /** Append lines, rotating at line boundaries so no file grows past maxBytes (one overlong line aside). */
  async #append(lines: string[]): Promise<void> {
    let handle = await this.#open();
    let batch: Buffer[] = [];
    let batchBytes = 0;
    for (const line of lines) {
      const bytes = Buffer.from(line, 'utf8');
      if (this.#size + batchBytes + bytes.length > this.#maxBytes && this.#size + batchBytes > 0) {
        if (batchBytes > 0) await this.#writeAll(handle, batch, batchBytes);
        batch = [];
        batchBytes = 0;
        handle = await this.#rotate();
      }
      batch.push(bytes);
      batchBytes += bytes.length;
    }
    if (batchBytes > 0) await this.#writeAll(handle, batch, batchBytes);
  }

  async #writeAll(handle: FileHandle, batch: Buffer[], bytes: number): Promise<void> {
    await handle.writev(batch);
    this.#size += bytes;
  }

  async #open(): Promise<FileHandle> {
    if (this.#handle !== undefined) return this.#handle;
    // Born private (docs/runtime-node.md §10): a function's output is not other users' to read.
    await mkdir(path.dirname(this.path), { recursive: true, mode: 0o700 });
    const handle = await open(this.path, 'a', 0o600);
    this.#size = (await handle.stat()).size;
    this.#handle = handle;
    return handle;
  }

  /** f.log.(n-1) → f.log.n … f.log → f.log.1, then a fresh f.log. */
  async #rotate(): Promise<FileHandle> {
    await this.#handle?.close();
    this.#handle = undefined;
    for (let i = this.#maxFiles - 1; i >= 1; i -= 1) {
      const from = i === 1 ? this.path : `${this.path}.${i - 1}`;
      try {
        await rename(from, `${this.path}.${i}`);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      }
    }
    if (this.#maxFiles === 1) {
      // Nothing is kept: start the one file over.
      const handle = await open(this.path, 'w', 0o600);
      this.#size = 0;
      this.#handle = handle;
      return handle;
    }
    return this.#open();
  }
}

/** Paths of a log file and its rotated predecessors that exist, newest first. */
export async function rotatedFiles(file: string, maxFiles = 64): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < maxFiles; i += 1) {
    const candidate = i === 0 ? file : `${file}.${i}`;
    try {
      await stat(candidate);
      out.push(candidate);
    } catch {
      if (i > 0) break;
    }
  }
  return out;
}
