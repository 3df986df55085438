/**
 * Calls accepted a moment ago, kept in memory until their first attempt starts, so starting it
 * needs no read of the store: that read (record and event, one SELECT) was ~7 % of the event
 * loop during an Async burst once commits left it (BENCHMARKS.md, "Before/after: Async intake").
 *
 * Only a cache: what it holds is exactly what `AsyncStore.load` would read for a call that was
 * just committed (state enqueued, no attempt yet), and a call it does not hold is read from the
 * store as before. That is every retry, every call resumed after a restart, and every call
 * accepted while the cache is full, so the memory it takes stays bounded whatever the backlog.
 */
import type { RunnableCall } from './async-store.js';
import { enqueuedRecord, type NewInvocation } from './invocation-record.js';

export interface FreshCallsLimits {
  /** @default 4096 */
  maxCalls: number;
  /** Event bytes held at most. @default 8 MiB */
  maxBytes: number;
}

export class FreshCalls {
  readonly #calls = new Map<number, RunnableCall>();
  readonly #limits: FreshCallsLimits;
  #bytes = 0;

  constructor(limits: Partial<FreshCallsLimits> = {}) {
    this.#limits = { maxCalls: limits.maxCalls ?? 4096, maxBytes: limits.maxBytes ?? 8 * 1024 * 1024 };
  }

  get size(): number {
    return this.#calls.size;
  }

  /** Hold `call`, just committed as `seq`, unless the cache is full. */
  keep(seq: number, call: NewInvocation): void {
    if (this.#calls.size >= this.#limits.maxCalls || this.#bytes + call.event.length > this.#limits.maxBytes) return;
    // A copy: the event may be a slice of a larger buffer (a socket read), which it would keep alive.
    const event = Buffer.from(call.event);
    this.#bytes += event.length;
    this.#calls.set(seq, {
      record: enqueuedRecord(call, seq),
      event,
      // As stored and read back: JSON (a trigger's context may hold an undefined `name`).
      invokerContext: call.invokerContext === undefined ? undefined : (JSON.parse(JSON.stringify(call.invokerContext)) as Record<string, unknown>),
      qualifier: call.qualifier,
    });
  }

  /** Is `seq` held (a first attempt, accepted a moment ago)? */
  has(seq: number): boolean {
    return this.#calls.has(seq);
  }

  /** The call held for `seq`, if any, which it no longer holds. */
  take(seq: number): RunnableCall | undefined {
    const call = this.#calls.get(seq);
    if (call === undefined) return undefined;
    this.#calls.delete(seq);
    this.#bytes -= call.event.length;
    return call;
  }
}
