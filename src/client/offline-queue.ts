/**
 * Async calls made while the client has lost its broker connection (docs/protocol.md §10.8):
 * kept in order, up to a bound, and sent with their original request IDs once it reconnects.
 * A call past the bound is refused at once with ResourceThrottled, never dropped silently; a
 * queued call can still be aborted, and close() fails every queued call with ClientClosed.
 */
import { ResourceThrottledError, type EdgeFCError } from '../errors.js';
import { abortError } from './request-channel.js';

interface Entry<T> {
  requestId: string;
  send: () => Promise<T>;
  resolve: (value: T) => void;
  reject: (error: EdgeFCError) => void;
  cleanup: () => void;
}

export class OfflineQueue<T> {
  readonly #max: number;
  readonly #entries = new Map<string, Entry<T>>();

  /** @param max calls kept at most; 0 turns the queue off. */
  constructor(max: number) {
    this.#max = max;
  }

  get size(): number {
    return this.#entries.size;
  }

  get enabled(): boolean {
    return this.#max > 0;
  }

  /** Keep a call until `flush()`; it settles with what `send()` gives then. */
  add(requestId: string, signal: AbortSignal | undefined, send: () => Promise<T>): Promise<T> {
    if (signal?.aborted === true) return Promise.reject(abortError(signal));
    if (this.#entries.size >= this.#max || this.#entries.has(requestId)) {
      return Promise.reject(
        new ResourceThrottledError(
          this.#entries.has(requestId)
            ? `request ${requestId} is already waiting for the connection`
            : `the broker connection is down and ${this.#entries.size} Async calls already wait for it (offlineQueueSize ${this.#max}); retry later`,
          { requestId },
        ),
      );
    }
    return new Promise<T>((resolve, reject) => {
      const onAbort = (): void => {
        if (this.#take(requestId) !== undefined) reject(abortError(signal));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#entries.set(requestId, { requestId, send, resolve, reject, cleanup: () => signal?.removeEventListener('abort', onAbort) });
    });
  }

  /** Send every kept call, oldest first. */
  flush(): void {
    for (const requestId of [...this.#entries.keys()]) {
      const entry = this.#take(requestId);
      entry?.send().then(entry.resolve, entry.reject);
    }
  }

  rejectAll(makeError: () => EdgeFCError): void {
    for (const requestId of [...this.#entries.keys()]) this.#take(requestId)?.reject(makeError());
  }

  #take(requestId: string): Entry<T> | undefined {
    const entry = this.#entries.get(requestId);
    if (entry === undefined) return undefined;
    this.#entries.delete(requestId);
    entry.cleanup();
    return entry;
  }
}
