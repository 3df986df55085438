/**
 * Sync retries by request ID (docs/protocol.md §10.2): a Sync request whose (client, request ID)
 * is running joins that run instead of starting another; one that finished within the window
 * gets the stored outcome. Only outcomes of a run are kept (a result, a function error, a
 * timeout): a refusal (ResourceThrottled, DeadlineExceeded, …) is not, so a retry after one runs.
 */
import { ErrorCode, type EdgeFCError } from 'edgefc/errors';
import type { InvocationResult } from '../runtime/types.js';

export interface SyncReplayOptions {
  /** How long a finished outcome is kept. @default 300_000 (5 min) */
  windowMs?: number;
  /** Outcomes kept at most; the oldest go first. @default 1000 */
  maxEntries?: number;
  /** Result bytes kept at most, in total; larger results are not kept. @default 32 MiB */
  maxBytes?: number;
  now?: () => number;
}

/** Codes that are the outcome of a run, so replaying them is what a retry would get anyway. */
const RUN_OUTCOMES: ReadonlySet<string> = new Set([
  ErrorCode.HandledInvocationError,
  ErrorCode.UnhandledInvocationError,
  ErrorCode.FunctionTimeout,
  ErrorCode.InitializationError,
  ErrorCode.InitializationTimeout,
]);

interface Entry {
  outcome: Promise<InvocationResult>;
  /** Set once finished; undefined while running. */
  finishedAt: number | undefined;
  bytes: number;
}

export class SyncReplayCache {
  readonly #entries = new Map<string, Entry>();
  readonly #windowMs: number;
  readonly #maxEntries: number;
  readonly #maxBytes: number;
  readonly #now: () => number;
  #bytes = 0;

  constructor(options: SyncReplayOptions = {}) {
    this.#windowMs = options.windowMs ?? 300_000;
    this.#maxEntries = options.maxEntries ?? 1000;
    this.#maxBytes = options.maxBytes ?? 32 * 1024 * 1024;
    this.#now = options.now ?? Date.now;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** The running or recent outcome for this key, or undefined (then call `track`). */
  lookup(clientId: string, requestId: string): Promise<InvocationResult> | undefined {
    const key = `${clientId}/${requestId}`;
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.finishedAt !== undefined && this.#now() - entry.finishedAt > this.#windowMs) {
      this.#delete(key, entry);
      return undefined;
    }
    return entry.outcome;
  }

  /** Remember a run that just started. */
  track(clientId: string, requestId: string, outcome: Promise<InvocationResult>): void {
    const key = `${clientId}/${requestId}`;
    const entry: Entry = { outcome, finishedAt: undefined, bytes: 0 };
    this.#entries.set(key, entry);
    outcome.then(
      (result) => this.#settled(key, entry, result.payload.length),
      (error: unknown) => {
        if (RUN_OUTCOMES.has((error as EdgeFCError).code)) this.#settled(key, entry, 0);
        else this.#delete(key, entry);
      },
    );
  }

  #settled(key: string, entry: Entry, bytes: number): void {
    if (this.#entries.get(key) !== entry) return;
    if (bytes > this.#maxBytes / 8) {
      this.#delete(key, entry);
      return;
    }
    entry.finishedAt = this.#now();
    entry.bytes = bytes;
    this.#bytes += bytes;
    this.#evict();
  }

  /** Oldest first (Map keeps insertion order); running entries are skipped, never evicted. */
  #evict(): void {
    const now = this.#now();
    for (const [key, entry] of this.#entries) {
      const over = this.#entries.size > this.#maxEntries || this.#bytes > this.#maxBytes;
      const stale = entry.finishedAt !== undefined && now - entry.finishedAt > this.#windowMs;
      if (!over && !stale) break;
      if (entry.finishedAt !== undefined) this.#delete(key, entry);
    }
  }

  #delete(key: string, entry: Entry): void {
    if (this.#entries.get(key) !== entry) return;
    this.#entries.delete(key);
    this.#bytes -= entry.bytes;
  }
}
