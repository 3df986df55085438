/**
 * Reads the per-function log files FunctionLogs writes (docs/logs.md §2): the last lines across
 * rotated files, one call's lines, and new lines as they are appended, across rotations.
 * Used by `edgefc logs`, which runs on the gateway's machine.
 */
import { open, readFile, stat, type FileHandle } from 'node:fs/promises';
import { StringDecoder } from 'node:string_decoder';
import { parseFrameText } from './function-log.js';
import { rotatedFiles } from './rotating-file.js';

/** A line of a log file, read back. */
export interface LogRecord {
  /** ISO time; absent on frame lines (FC writes them without one) and continuation lines. */
  time?: string;
  /** '' when the line belongs to no call. */
  requestId: string;
  /** `INFO`, `WARN`, …; `FRAME` for FC's Start/End lines; absent on continuation lines. */
  level?: string;
  message: string;
  /** A line of a multi-line message (a stack trace): it belongs to the record before it. */
  continuation?: true;
  /** The line as written. */
  text: string;
}

const FUNCTION_LINE = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z) (\S+) \[([A-Z]+)\] ?(.*)$/;

/**
 * Parses lines in file order: a line that is neither a function line nor a frame continues the
 * message before it (console.log of a multi-line string), and takes that record's request ID.
 */
export class LogParser {
  #previous: LogRecord | undefined;

  parse(text: string): LogRecord {
    const line = FUNCTION_LINE.exec(text);
    let record: LogRecord;
    if (line !== null) {
      const [, time = '', id = '-', level = '', message = ''] = line;
      record = { time, requestId: id === '-' ? '' : id, level, message, text };
    } else {
      const frame = parseFrameText(text);
      if (frame !== undefined) {
        record = { requestId: frame.requestId, level: 'FRAME', message: text, text };
      } else {
        return { requestId: this.#previous?.requestId ?? '', message: text, continuation: true, text };
      }
    }
    this.#previous = record;
    return record;
  }
}

export interface TailOptions {
  /** Lines to return, the newest; with `requestId`, of that call. */
  lines: number;
  requestId?: string;
}

/** Where reading stopped in the current file: `follow` goes on from there, so no line is missed or doubled. */
export interface FilePosition {
  inode: number;
  offset: number;
}

/** The last `lines` lines of a function's log, oldest first, reading rotated files as needed. */
export async function readTail(file: string, options: TailOptions): Promise<{ records: LogRecord[]; position: FilePosition | undefined }> {
  const files = await rotatedFiles(file);
  const out: LogRecord[][] = [];
  let count = 0;
  let position: FilePosition | undefined;
  // Newest file first; each is read whole (10 MiB by default), stopping once enough lines are in.
  for (const path of files) {
    let bytes: Buffer;
    try {
      const handle = await open(path, 'r');
      try {
        const info = await handle.stat();
        bytes = await handle.readFile();
        if (path === file) position = { inode: info.ino, offset: bytes.length };
      } finally {
        await handle.close();
      }
    } catch {
      continue;
    }
    // A line still being written (no newline yet) is left for `follow`.
    const end = bytes.lastIndexOf(0x0a) + 1;
    if (path === file && position !== undefined) position.offset = end;
    const text = bytes.subarray(0, end).toString('utf8');
    const parser = new LogParser();
    const lines = text.split('\n');
    if (lines.at(-1) === '') lines.pop();
    let records = lines.map((l) => parser.parse(l));
    if (options.requestId !== undefined) records = records.filter((r) => r.requestId === options.requestId);
    out.unshift(records);
    count += records.length;
    if (count >= options.lines) break;
  }
  const all = out.flat();
  return { records: options.lines <= 0 ? [] : all.slice(-options.lines), position };
}

export interface FollowOptions {
  /** Poll interval. 200 ms: a line shows within a fifth of a second, for one stat() per tick. @default 200 */
  intervalMs?: number;
  signal: AbortSignal;
  /** Go on from here (readTail's position); absent: from the end of the file as it is now. */
  from?: FilePosition;
}

/**
 * Calls `onRecord` for each line appended to `file` from now on, until `signal` aborts. Follows
 * a rotation (the file renamed to `.1` and a new one created): the rest of the old file is read
 * first, then the new one from its start. Polls: fs.watch misses renames on some filesystems.
 */
export async function follow(file: string, onRecord: (record: LogRecord) => void, options: FollowOptions): Promise<void> {
  const intervalMs = options.intervalMs ?? 200;
  const parser = new LogParser();
  let handle: FileHandle | undefined;
  /** Inode of the file last read: the current one, or the one before a rotation. */
  let inode: number | undefined;
  let offset = 0;
  let first = true;
  const decoder = new StringDecoder('utf8');
  let partial = '';
  const emit = (chunk: string): void => {
    partial += chunk;
    let newline = partial.indexOf('\n');
    while (newline !== -1) {
      onRecord(parser.parse(partial.slice(0, newline)));
      partial = partial.slice(newline + 1);
      newline = partial.indexOf('\n');
    }
  };
  const readRest = async (): Promise<void> => {
    if (handle === undefined) return;
    const buffer = Buffer.alloc(64 * 1024);
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, offset);
      if (bytesRead === 0) return;
      offset += bytesRead;
      emit(decoder.write(buffer.subarray(0, bytesRead)));
    }
  };
  /**
   * Open the current file. After a rotation, the files rotated between the one last read and
   * this one (several rotations within one poll) are read whole first, oldest first: the
   * current file is opened before they are listed, so none can slip between the two.
   */
  const openCurrent = async (): Promise<void> => {
    let next: FileHandle;
    try {
      next = await open(file, 'r');
    } catch {
      return;
    }
    const info = await next.stat();
    if (!first && inode !== undefined) {
      for (const between of await filesBetween(file, inode, info.ino)) {
        try {
          emit(decoder.write(await readFile(between)));
        } catch {
          // Rotated away meanwhile: those lines are gone.
        }
      }
    }
    handle = next;
    offset = first ? (options.from?.inode === info.ino ? options.from.offset : info.size) : 0;
    inode = info.ino;
    first = false;
  };
  try {
    await openCurrent();
    first = false;
    while (!options.signal.aborted) {
      await sleep(intervalMs, options.signal);
      if (options.signal.aborted) break;
      let current: Awaited<ReturnType<typeof stat>> | undefined;
      try {
        current = await stat(file);
      } catch {
        current = undefined;
      }
      if (handle !== undefined && (current === undefined || current.ino !== inode)) {
        // Rotated (or removed): what was appended to the old file before the rename comes first.
        await readRest();
        await handle.close();
        handle = undefined;
      } else if (handle !== undefined && current !== undefined && current.size < offset) {
        // Truncated in place (copytruncate): start over.
        offset = 0;
      }
      if (handle === undefined && current !== undefined) await openCurrent();
      await readRest();
    }
  } finally {
    await handle?.close();
  }
}

/**
 * Rotated files (`f.log.k`) newer than the one with inode `after` and other than `current`,
 * oldest first. When `after` is gone (rotated out past maxFiles), every rotated file left is
 * newer than it, so all of them are. The writer renames `.k` → `.k+1` one file at a time: a
 * listing that meets a file mid-rename is taken again, a few times, rather than dropping lines.
 */
async function filesBetween(file: string, after: number, current: number): Promise<string[]> {
  for (let attempt = 0; attempt < 5; attempt += 1) {
    const listed = await listNewer(file, after, current);
    if (listed !== undefined) return listed;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return [];
}

/** One listing; undefined when a file vanished under it (a rotation in progress). */
async function listNewer(file: string, after: number, current: number): Promise<string[] | undefined> {
  const newer: string[] = [];
  for (const candidate of (await rotatedFiles(file)).filter((f) => f !== file)) {
    let ino: number;
    try {
      ino = (await stat(candidate)).ino;
    } catch {
      return undefined;
    }
    if (ino === after) return newer.reverse();
    if (ino !== current) newer.push(candidate);
  }
  return newer.reverse();
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
