/**
 * A function's log read in bounded pages behind a cursor (docs/protocol.md §9.13): what the
 * `logs-read` admin operation answers, so `edgefc logs` works from an operator's machine. The
 * gateway keeps no state per reader: the cursor names a file by inode (checked against its first
 * line) and a byte offset in it, and survives rotations (the file renamed `.1`, `.2`, … keeps its
 * inode).
 */
import { createHash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { parseFrameText } from './function-log.js';
import { closeAll, LogParser, openLogFiles, type OpenLogFile } from './log-reader.js';

export interface LogPageOptions {
  /** Where the previous page ended, as it answered. */
  cursor?: string;
  /** Without a cursor: start at the Nth-last line (of `requestId`'s call, with it). */
  tail?: number;
  /** Without a cursor: start at the first line written at or after this time (epoch ms). */
  sinceMs?: number;
  /** Only the lines of this call. */
  requestId?: string;
  /** Bytes of lines per page, at least one line. */
  maxBytes: number;
}

export interface LogPage {
  /** Lines as written (docs/logs.md §1), oldest first. */
  lines: string[];
  cursor: string;
  /** The page stopped at its bound: ask again with `cursor` at once. */
  more: boolean;
  /** Whether the function has a log at all. */
  exists: boolean;
  /** The cursor's file was rotated away before it was read to its end: lines were lost between. */
  gap?: true;
}

/** 256 KiB: a reply far below MQTT's limits (§7.6) that still carries ~2,000 typical lines. */
export const DEFAULT_PAGE_BYTES = 256 * 1024;
export const MAX_PAGE_BYTES = 1024 * 1024;
/** A line is at most 8 Ki characters (§7.7): up to 32 KiB of UTF-8, so a read always holds one. */
const READ_SLACK = 64 * 1024;
/**
 * Pages of bytes a `requestId` page may read past before it answers, even with no line of that
 * call: 16 × 256 KiB = 4 MiB, a few ms of work per request, so a search through a 50 MiB log
 * is a dozen requests rather than one that holds the gateway.
 */
const SCAN_PAGES = 16;
/**
 * `inode:offset:tag`: the file by inode, and `tag`, 8 hex digits of the SHA-256 of its first
 * line (empty while it has none), because a file system reuses the inode of a file rotated away
 * for a new one: a cursor whose tag does not match is a file gone (`gap`), not a place in another.
 */
const CURSOR = /^([0-9]{1,20}):([0-9]{1,15}):([0-9a-f]{8})?$/;
/** Bytes of a file's first line that its tag covers. */
const TAG_BYTES = 512;

interface Position {
  /** Index in the files, oldest first. */
  file: number;
  offset: number;
}

export function isCursor(value: string): boolean {
  return CURSOR.test(value);
}

export async function readLogPage(file: string, options: LogPageOptions): Promise<LogPage> {
  // Newest first, every file opened in one pass that a rotation cannot tear (log-reader.ts).
  const files = (await openLogFiles(file, -1)).reverse();
  try {
    if (files.length === 0) return { lines: [], cursor: options.cursor ?? '0:0:', more: false, exists: false };
    let start: Position;
    let gap = false;
    if (options.cursor !== undefined) {
      const [, ino = '0', offset = '0', tag = ''] = CURSOR.exec(options.cursor) ?? [];
      let index = files.findIndex((f) => f.ino === Number(ino));
      if (index !== -1 && tag !== '' && (await tagOf(files[index] as OpenLogFile)) !== tag) index = -1;
      if (index === -1) {
        gap = ino !== '0';
        start = { file: 0, offset: 0 };
      } else {
        const at = Number(offset);
        // Truncated in place since (copytruncate): from its start.
        start = { file: index, offset: at > (files[index] as OpenLogFile).size ? 0 : at };
      }
    } else {
      start = await startOf(files, options);
    }
    const page = await readFrom(files, start, options);
    return { ...page, exists: true, ...(gap ? { gap: true as const } : {}) };
  } finally {
    await closeAll(files);
  }
}

async function readFrom(files: OpenLogFile[], start: Position, options: LogPageOptions): Promise<Omit<LogPage, 'exists'>> {
  const lines: string[] = [];
  const parser = new LogParser();
  let bytes = 0;
  let { file: index, offset } = start;
  for (;;) {
    const current = files[index] as OpenLogFile;
    const buffer = await readRegion(current.handle, offset, options.maxBytes + READ_SLACK);
    const end = buffer.lastIndexOf(0x0a) + 1;
    let at = 0;
    while (at < end) {
      const newline = buffer.indexOf(0x0a, at);
      const text = buffer.subarray(at, newline).toString('utf8');
      const record = parser.parse(text);
      // Stop only before a line that starts a record: a stack trace stays on one page with its
      // line. A filtered page that found nothing yet stops too, after SCAN_PAGES pages of reading.
      const full = lines.length > 0 ? bytes >= options.maxBytes : bytes >= options.maxBytes * SCAN_PAGES;
      if (full && record.continuation !== true) {
        return { lines, cursor: await cursorOf(current, offset + at), more: true };
      }
      bytes += newline + 1 - at;
      at = newline + 1;
      if (options.requestId === undefined || record.requestId === options.requestId) lines.push(text);
    }
    offset += end;
    // The whole read was lines and the file may hold more: read on.
    if (buffer.length === options.maxBytes + READ_SLACK && end > 0) continue;
    if (index === files.length - 1) return { lines, cursor: await cursorOf(current, offset), more: false };
    index += 1;
    offset = 0;
  }
}

async function cursorOf(file: OpenLogFile, offset: number): Promise<string> {
  return `${file.ino}:${offset}:${await tagOf(file)}`;
}

async function tagOf(file: OpenLogFile): Promise<string> {
  const head = await readRegion(file.handle, 0, TAG_BYTES);
  const newline = head.indexOf(0x0a);
  if (newline === -1 && head.length < TAG_BYTES) return '';
  return createHash('sha256').update(newline === -1 ? head : head.subarray(0, newline)).digest('hex').slice(0, 8);
}

async function readRegion(handle: FileHandle, offset: number, length: number): Promise<Buffer> {
  const buffer = Buffer.alloc(length);
  let filled = 0;
  while (filled < length) {
    const { bytesRead } = await handle.read(buffer, filled, length - filled, offset + filled);
    if (bytesRead === 0) break;
    filled += bytesRead;
  }
  return buffer.subarray(0, filled);
}

/** Complete lines of a file with the offset each starts at. */
async function linesOf(file: OpenLogFile): Promise<{ offset: number; text: string }[]> {
  const bytes = await readRegion(file.handle, 0, file.size);
  const out: { offset: number; text: string }[] = [];
  let at = 0;
  for (let newline = bytes.indexOf(0x0a); newline !== -1; newline = bytes.indexOf(0x0a, at)) {
    out.push({ offset: at, text: bytes.subarray(at, newline).toString('utf8') });
    at = newline + 1;
  }
  return out;
}

/** Where a first page starts: the later of `tail` and `sinceMs`; neither: the oldest line kept. */
async function startOf(files: OpenLogFile[], options: LogPageOptions): Promise<Position> {
  const starts: Position[] = [{ file: 0, offset: 0 }];
  if (options.tail !== undefined) starts.push(await tailStart(files, options.tail, options.requestId));
  if (options.sinceMs !== undefined) starts.push(await sinceStart(files, options.sinceMs));
  return starts.reduce((a, b) => (b.file > a.file || (b.file === a.file && b.offset > a.offset) ? b : a));
}

async function tailStart(files: OpenLogFile[], tail: number, requestId: string | undefined): Promise<Position> {
  let count = 0;
  for (let index = files.length - 1; index >= 0; index -= 1) {
    const lines = await linesOf(files[index] as OpenLogFile);
    if (tail === 0) return { file: index, offset: lines.length === 0 ? 0 : endOf(lines) };
    const parser = new LogParser();
    const records = lines.map((line) => ({ ...line, requestId: parser.parse(line.text).requestId }));
    for (let i = records.length - 1; i >= 0; i -= 1) {
      const record = records[i] as (typeof records)[number];
      if (requestId !== undefined && record.requestId !== requestId) continue;
      count += 1;
      if (count === tail) return { file: index, offset: record.offset };
    }
  }
  return { file: 0, offset: 0 };
}

function endOf(lines: { offset: number; text: string }[]): number {
  const last = lines.at(-1) as { offset: number; text: string };
  return last.offset + Buffer.byteLength(last.text) + 1;
}

/**
 * The first line written at or after `sinceMs`, with the `FC … Start` frames just before it
 * (FC writes frames without a time; they open the call whose lines follow).
 */
async function sinceStart(files: OpenLogFile[], sinceMs: number): Promise<Position> {
  // Newest file first: the start is in the newest file that has a line older than sinceMs.
  for (let index = files.length - 1; index >= 0; index -= 1) {
    const lines = await linesOf(files[index] as OpenLogFile);
    const parser = new LogParser();
    const times = lines.map((line) => {
      const time = parser.parse(line.text).time;
      return time === undefined ? undefined : Date.parse(time);
    });
    const first = times.findIndex((t) => t !== undefined && t >= sinceMs);
    const anyOlder = times.some((t) => t !== undefined && t < sinceMs);
    if (!anyOlder && index > 0) continue;
    if (first === -1) {
      // Every line of this file is older: the start is the next file's first line, or the end.
      if (index + 1 < files.length) return { file: index + 1, offset: 0 };
      return { file: index, offset: lines.length === 0 ? 0 : endOf(lines) };
    }
    let begin = first;
    while (begin > 0 && parseFrameText((lines[begin - 1] as { text: string }).text)?.edge === 'Start') begin -= 1;
    return { file: index, offset: (lines[begin] as { offset: number }).offset };
  }
  return { file: 0, offset: 0 };
}
