/**
 * Coalesces the messages one side sends within one event-loop turn, so a burst costs one
 * write instead of one per message. Used by both ends of the channel (function-channel.ts;
 * ../node-instance.ts, the gateway; runner.ts, the function process).
 *
 * Why: at 64 calls in flight the gateway spent ~11 % of its CPU in `writeBuffer`, one pipe
 * write per invoke message, plus ~5 % in per-message (de)serialization (BENCHMARKS.md). Calls
 * arrive in bursts (one socket read carries many requests; one function turn finishes many
 * calls), so most of those writes can be shared.
 *
 * Latency: the first message of a turn goes out at once, as before; only messages that follow it
 * in the same turn wait, until `setImmediate` (the end of the turn's I/O callbacks), and then go
 * as one array. A lone call is never delayed. `setImmediate` rather than a microtask: the
 * gateway's path to a send crosses several awaits, so a microtask flush would run before most of
 * the turn's sends were made (measured: BENCHMARKS.md).
 *
 * A batch reaches the channel as an array, which writes its messages' records back to back in
 * one write (function-channel.ts); the receiver reads records, not batches.
 *
 * Size: a batch goes out early once it holds MAX_BATCH messages, so one write stays a few MiB
 * at most: one call's console lines are bounded by its log budget (1 MiB), a turn of many calls
 * is not.
 */

export type SendCallback = (err: Error | null) => void;

/** Writes one message or an array of them; `callback` runs once the write is done or failed. */
export type ChannelWrite<T> = (payload: T | T[], callback: SendCallback) => void;

/**
 * 256 messages: a batch of console lines (at most 8 Ki characters each, capLogLine) stays under
 * ~4 MiB, a few ms to deserialize; a turn at 64 calls in flight makes ~64-128 messages (an
 * invoke or a reply per call, and its lines), so the bench's batches are not split.
 */
const MAX_BATCH = 256;

export class IpcBatcher<T> {
  readonly #write: ChannelWrite<T>;
  #queue: T[] = [];
  #callbacks: SendCallback[] = [];
  /** A message went out this turn: the next ones wait for the end of the turn. */
  #turnOpen = false;

  constructor(write: ChannelWrite<T>) {
    this.#write = write;
  }

  send(message: T, callback?: SendCallback): void {
    if (this.#turnOpen) {
      this.#queue.push(message);
      if (callback !== undefined) this.#callbacks.push(callback);
      if (this.#queue.length >= MAX_BATCH) this.flush();
      return;
    }
    this.#turnOpen = true;
    setImmediate(this.#endTurn);
    this.#write(message, (err) => callback?.(err));
  }

  /** Send what waits now, e.g. before a message that must not wait (a crash report). */
  flush(): void {
    const queue = this.#queue;
    if (queue.length === 0) return;
    const callbacks = this.#callbacks;
    this.#queue = [];
    this.#callbacks = [];
    this.#write(queue.length === 1 ? queue[0]! : queue, (err) => {
      for (const callback of callbacks) callback(err);
    });
  }

  readonly #endTurn = (): void => {
    this.#turnOpen = false;
    this.flush();
  };
}
