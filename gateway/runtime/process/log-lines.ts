/**
 * Bounding what a function can make the gateway hold for its logs.
 *
 * A function that prints a 100 MB string, or writes forever without a newline, must not grow
 * the gateway's memory: every line is cut at MAX_LOG_LINE_CHARS (a string from console.*) or
 * MAX_LOG_LINE_BYTES (raw stdout/stderr) with a visible marker, and the splitter for raw output
 * keeps at most one capped partial line per stream.
 */

/** 8 Ki characters: a long JSON dump or stack trace fits; a runaway write is cut. */
export const MAX_LOG_LINE_CHARS = 8 * 1024;
/** The same for raw output, in bytes: the splitter cuts before it decodes. */
export const MAX_LOG_LINE_BYTES = 8 * 1024;

export const TRUNCATION_MARKER = ' …[truncated]';

const NEWLINE = 0x0a;

export function capLogLine(line: string, max = MAX_LOG_LINE_CHARS): string {
  if (line.length <= max) return line;
  // A slice of a V8 string keeps its whole parent alive: the cut line of a 100 MB string would
  // hold the 100 MB for as long as the line is queued or in a tail. The copy holds 8 Ki.
  return Buffer.from(line.slice(0, max), 'utf8').toString('utf8') + TRUNCATION_MARKER;
}

/**
 * Splits a byte stream into lines. It looks for newlines in the bytes and decodes only what it
 * keeps, so a character split across chunks is whole again, and the part of a line past
 * `maxBytes` is never decoded or copied: the line is emitted, with the marker, as soon as it
 * passes the cap, and the rest of it, up to the next newline, is skipped.
 */
export class LineSplitter {
  readonly #emit: (line: string) => void;
  readonly #max: number;
  /** The current line's bytes so far (copies: a chunk is not held past its turn), at most #max in all. */
  #parts: Buffer[] = [];
  #bytes = 0;
  #discarding = false;

  constructor(emit: (line: string) => void, maxBytes = MAX_LOG_LINE_BYTES) {
    this.#emit = emit;
    this.#max = maxBytes;
  }

  push(chunk: Buffer | string): void {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
    let start = 0;
    for (;;) {
      const newline = bytes.indexOf(NEWLINE, start);
      if (newline === -1) break;
      if (!this.#discarding) {
        this.#append(bytes, start, newline, false);
        if (!this.#discarding) this.#emitLine(false);
      }
      this.#reset();
      start = newline + 1;
    }
    if (!this.#discarding && start < bytes.length) this.#append(bytes, start, bytes.length, true);
  }

  /** Flush a last line that had no newline (stream ended). */
  end(): void {
    if (!this.#discarding && this.#bytes > 0) this.#emitLine(false);
    this.#reset();
  }

  /** Take bytes [from, to) of `chunk` into the line; `copy` when the chunk outlives this call. */
  #append(chunk: Buffer, from: number, to: number, copy: boolean): void {
    const room = this.#max - this.#bytes;
    if (to - from > room) {
      this.#parts.push(chunk.subarray(from, from + room));
      this.#bytes += room;
      this.#emitLine(true);
      this.#parts = [];
      this.#bytes = 0;
      this.#discarding = true;
      return;
    }
    if (to === from) return;
    const part = chunk.subarray(from, to);
    this.#parts.push(copy ? Buffer.from(part) : part);
    this.#bytes += to - from;
  }

  #emitLine(truncated: boolean): void {
    const bytes = this.#parts.length === 1 ? (this.#parts[0] as Buffer) : Buffer.concat(this.#parts, this.#bytes);
    let end = bytes.length;
    if (truncated) {
      // Cut at a character boundary: back over UTF-8 continuation bytes (10xxxxxx) and the lead
      // byte of the character they belong to, if that character did not fit whole.
      end = utf8Boundary(bytes, end);
    } else if (end > 0 && bytes[end - 1] === 0x0d) {
      end -= 1; // CRLF
    }
    const text = bytes.toString('utf8', 0, end);
    this.#emit(truncated ? text + TRUNCATION_MARKER : text);
  }

  #reset(): void {
    this.#parts = [];
    this.#bytes = 0;
    this.#discarding = false;
  }
}

/** The largest index <= `end` where a UTF-8 character of `bytes` starts (or `end` itself). */
function utf8Boundary(bytes: Buffer, end: number): number {
  let at = end;
  // At most 3 continuation bytes precede a 4-byte character's end.
  while (at > 0 && end - at < 4 && ((bytes[at - 1] as number) & 0xc0) === 0x80) at -= 1;
  if (at === 0) return end;
  const lead = bytes[at - 1] as number;
  if (lead < 0x80) return end; // ASCII: `end` was already a boundary
  const width = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
  // The character starting at at-1 fits if all its bytes are before `end`.
  return at - 1 + width <= end ? end : at - 1;
}
