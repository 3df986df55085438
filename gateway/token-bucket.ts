/**
 * A token bucket: `capacity` tokens, refilled continuously at `perSecond`; a request takes its
 * cost when that many tokens are there and is refused (taking nothing) otherwise. So a client
 * may burst up to `capacity` after an idle spell and sustain `perSecond` at length.
 *
 * The clock is the caller's (milliseconds, monotonic or not: a clock that steps back only
 * delays the refill), passed to each call, so one owner can hold thousands of buckets without a
 * timer or a clock read each.
 */
export class TokenBucket {
  readonly perSecond: number;
  readonly capacity: number;
  #tokens: number;
  #updatedAt: number;

  /** Starts full. */
  constructor(perSecond: number, capacity: number, now: number) {
    this.perSecond = perSecond;
    this.capacity = capacity;
    this.#tokens = capacity;
    this.#updatedAt = now;
  }

  /** Take `cost` tokens if there are that many at `now`; false, and nothing taken, if not. */
  take(cost: number, now: number): boolean {
    const tokens = this.tokensAt(now);
    this.#updatedAt = Math.max(now, this.#updatedAt);
    if (tokens < cost) {
      this.#tokens = tokens;
      return false;
    }
    this.#tokens = tokens - cost;
    return true;
  }

  /** Tokens there would be at `now` (at most `capacity`). */
  tokensAt(now: number): number {
    const elapsed = Math.max(0, now - this.#updatedAt);
    return Math.min(this.capacity, this.#tokens + (elapsed * this.perSecond) / 1000);
  }

  /** Full again at `now`: the bucket holds nothing a fresh one would not. */
  isFull(now: number): boolean {
    return this.tokensAt(now) >= this.capacity;
  }
}
