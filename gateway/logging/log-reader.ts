/**
 * Reads the per-function log files FunctionLogs writes (docs/logs.md §2): the last lines across
 * rotated files, one call's lines, and new lines as they are appended, across rotations.
 * Used by `edgefc logs`, which runs on the gateway's machine.
 */
import { open, stat, type FileHandle } from 'node:fs/promises';
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
   * this one (several rotations within one poll) are read whole first, oldest first. The current
   * file and those come from one listing of open files (`openLogFiles`) that a rotation racing it
   * can neither hide a file from nor show one twice in (test/logs/log-follow.test.ts).
   */
  const openCurrent = async (): Promise<void> => {
    const previous = inode;
    const files = first || previous === undefined ? await openNewest(file) : await openLogFiles(file, previous);
    const current = files[0]?.index === 0 ? files[0] : undefined;
    if (current === undefined) {
      // No current file (mid-rotation, or removed): try again at the next poll, from the same file.
      await closeAll(files);
      return;
    }
    // Rotated since the file last read, oldest first.
    const rotated = files.filter((f) => f !== current).reverse();
    try {
      for (const f of rotated) emit(decoder.write(await f.handle.readFile()));
    } finally {
      await closeAll(rotated);
    }
    handle = current.handle;
    offset = first ? (options.from?.inode === current.ino ? options.from.offset : current.size) : 0;
    inode = current.ino;
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
        const old = handle;
        handle = undefined;
        // Held open through the listing: a closed file rotated out could lend its inode to a new one.
        if (current !== undefined) await openCurrent();
        await old.close();
      } else if (handle !== undefined && current !== undefined && current.size < offset) {
        // Truncated in place (copytruncate): start over.
        offset = 0;
      } else if (handle === undefined && current !== undefined) {
        await openCurrent();
      }
      await readRest();
    }
  } finally {
    await handle?.close();
  }
}

/** A log file opened by its name at one moment: the handle keeps reading it whatever it is renamed to. */
export interface OpenLogFile {
  /** 0 for the file itself, k for `f.log.k`. */
  index: number;
  handle: FileHandle;
  ino: number;
  size: number;
}

/** Rotated files looked at, at most (docs/logs.md §2: maxFiles is far below). */
const MAX_LOG_FILES = 64;

async function openNewest(file: string): Promise<OpenLogFile[]> {
  try {
    const handle = await open(file, 'r');
    const info = await handle.stat();
    return [{ index: 0, handle, ino: info.ino, size: info.size }];
  } catch {
    return [];
  }
}

/**
 * The log file and the rotated files newer than the one with inode `after` (all rotated files
 * when it is gone), newest first, each open. A rotation renames `.k` → `.k+1` one file at a
 * time from the oldest down, then `f.log` → `.1`: files only ever move to a higher number, by one
 * per rotation. So a pass that opens `.1`, `.2`, … upwards can meet a file twice (dropped by
 * inode) but never passes one, nor sees two out of order, as long as at most one rotation runs
 * during the pass — which holds when `f.log` is the same file after the pass as before it
 * (rotations are sequential, and each ends by renaming `f.log`). Otherwise the pass is taken
 * again; a log that rotates without pause gets the last pass.
 */
export async function openLogFiles(file: string, after: number): Promise<OpenLogFile[]> {
  let files: OpenLogFile[] = [];
  for (let attempt = 0; attempt < 20; attempt += 1) {
    await closeAll(files);
    files = await openNewest(file);
    const newest = files[0]?.ino;
    files.push(...(await openRotated(file, after, newest)));
    const now = await stat(file).catch(() => undefined);
    if (newest !== undefined && now?.ino === newest) break;
  }
  return files;
}

/** One upward pass over `f.log.1`, `f.log.2`, … up to the file `after` (excluded) or the end. */
async function openRotated(file: string, after: number, newest: number | undefined): Promise<OpenLogFile[]> {
  const files: OpenLogFile[] = [];
  const seen = new Set<number | undefined>([newest]);
  let missing = 0;
  for (let index = 1; index < MAX_LOG_FILES; index += 1) {
    let handle: FileHandle;
    try {
      handle = await open(`${file}.${index}`, 'r');
    } catch {
      // Two missing in a row: the end (a rotation leaves at most one gap at a time).
      if (++missing === 2) break;
      continue;
    }
    missing = 0;
    const info = await handle.stat().catch(() => undefined);
    if (info === undefined || seen.has(info.ino) || info.ino === after) {
      await handle.close().catch(() => undefined);
      if (info?.ino === after) break;
      continue;
    }
    seen.add(info.ino);
    files.push({ index, handle, ino: info.ino, size: info.size });
  }
  return files;
}

export async function closeAll(files: OpenLogFile[]): Promise<void> {
  for (const f of files) await f.handle.close().catch(() => undefined);
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
