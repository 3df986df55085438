/**
 * The table of calls waiting for a reply, keyed by request ID (docs/protocol.md §4.1).
 *
 * Each entry carries what must be released (timer, abort listener): whichever path settles it first — reply,
 * timeout, abort, close, publish failure — runs the cleanup exactly once and removes the entry,
 * so nothing is left behind on any path.
 */
import type { EdgeFCError } from '../errors.js';
import type { Reply } from '../protocol/reply.js';

export interface PendingEntry {
  resolve: (reply: Reply) => void;
  reject: (error: EdgeFCError) => void;
  /** The call's deadline timer; cleared by the table when the entry settles. */
  timer?: NodeJS.Timeout;
  /** The caller's signal and the listener to remove from it when the entry settles. */
  signal?: AbortSignal;
  onAbort?: () => void;
  /** Publishes the request again under the same ID; only calls that are safe to repeat have it. */
  resend?: () => void;
}

export class PendingRequests {
  readonly #entries = new Map<string, PendingEntry>();

  get size(): number {
    return this.#entries.size;
  }

  has(requestId: string): boolean {
    return this.#entries.has(requestId);
  }

  add(requestId: string, entry: PendingEntry): void {
    this.#entries.set(requestId, entry);
  }

  /** Settle the entry a reply belongs to. False when no call waits for it (§4.3: dropped). */
  dispatch(reply: Reply): boolean {
    const entry = this.#take(reply.requestId);
    if (entry === undefined) return false;
    entry.resolve(reply);
    return true;
  }

  /** Fail one call (timeout, abort, publish failure). False when it was already settled. */
  cancel(requestId: string, error: EdgeFCError): boolean {
    const entry = this.#take(requestId);
    if (entry === undefined) return false;
    entry.reject(error);
    return true;
  }

  /** Publish every waiting call that can be repeated again, e.g. after a reconnect. */
  resendAll(): void {
    for (const entry of this.#entries.values()) entry.resend?.();
  }

  /** Fail every waiting call, e.g. on close. */
  rejectAll(makeError: () => EdgeFCError): void {
    for (const requestId of [...this.#entries.keys()]) this.cancel(requestId, makeError());
  }

  #take(requestId: string): PendingEntry | undefined {
    const entry = this.#entries.get(requestId);
    if (entry === undefined) return undefined;
    this.#entries.delete(requestId);
    // The cleanup, inline rather than a closure per call: timer and abort listener.
    if (entry.timer !== undefined) clearTimeout(entry.timer);
    if (entry.onAbort !== undefined) entry.signal?.removeEventListener('abort', entry.onAbort);
    return entry;
  }
}
