/**
 * Bounding what a function can make the gateway hold for its logs.
 *
 * A function that prints a 100 MB string, or writes forever without a newline, must not grow
 * the gateway's memory: every line is cut at MAX_LOG_LINE_CHARS with a visible marker, and the
 * splitter for raw stdout/stderr keeps at most one capped partial line per stream.
 */
import { StringDecoder } from 'node:string_decoder';

/** 8 Ki characters: a long JSON dump or stack trace fits; a runaway write is cut. */
export const MAX_LOG_LINE_CHARS = 8 * 1024;

export const TRUNCATION_MARKER = ' …[truncated]';

export function capLogLine(line: string, max = MAX_LOG_LINE_CHARS): string {
  return line.length <= max ? line : line.slice(0, max) + TRUNCATION_MARKER;
}

/**
 * Splits a byte stream into lines, decoding UTF-8 across chunk boundaries. A line longer than
 * `max` is emitted as soon as it passes the cap (with the marker); the rest of it, up to the
 * next newline, is dropped rather than buffered.
 */
export class LineSplitter {
  readonly #decoder = new StringDecoder('utf8');
  readonly #emit: (line: string) => void;
  readonly #max: number;
  #partial = '';
  #discarding = false;

  constructor(emit: (line: string) => void, max = MAX_LOG_LINE_CHARS) {
    this.#emit = emit;
    this.#max = max;
  }

  push(chunk: Buffer | string): void {
    const text = typeof chunk === 'string' ? chunk : this.#decoder.write(chunk);
    let start = 0;
    for (;;) {
      const newline = text.indexOf('\n', start);
      if (newline === -1) break;
      this.#append(text.slice(start, newline));
      this.#finishLine();
      start = newline + 1;
    }
    this.#append(text.slice(start));
  }

  /** Flush a last line that had no newline (stream ended). */
  end(): void {
    this.#append(this.#decoder.end());
    if (this.#partial !== '') this.#finishLine();
    this.#discarding = false;
  }

  #append(text: string): void {
    if (this.#discarding || text === '') return;
    this.#partial += text;
    if (this.#partial.length > this.#max) {
      this.#emit(this.#partial.slice(0, this.#max) + TRUNCATION_MARKER);
      this.#partial = '';
      this.#discarding = true;
    }
  }

  #finishLine(): void {
    if (!this.#discarding) this.#emit(this.#partial.endsWith('\r') ? this.#partial.slice(0, -1) : this.#partial);
    this.#partial = '';
    this.#discarding = false;
  }
}
