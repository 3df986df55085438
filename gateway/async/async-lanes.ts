/**
 * The in-memory index of one function's unfinished Async calls: which are ready to run, which
 * wait for a retry time, how many hold a slot. The store on disk is the truth; a lane is rebuilt
 * from it at start (async-service.ts).
 */
import type { AsyncConfigSpec, FunctionSpec, ServiceSpec } from '../registry/types.js';
import { asyncConfigOf, asyncSlots } from './async-config.js';
import type { RunnableCall } from './async-store.js';

/** A call whose `running` state, with this attempt number, is on disk: it may start at once. */
export interface ClaimedCall {
  call: RunnableCall;
  attempts: number;
}

export class Lane {
  readonly service: Readonly<ServiceSpec>;
  readonly fn: Readonly<FunctionSpec>;
  readonly config: AsyncConfigSpec;
  /** Async calls this function may run at once (async-config.ts asyncSlots). */
  readonly slots: number;
  /** Calls holding a slot now. */
  inFlight = 0;
  /** Calls whose `running` state is being written (async-service.ts #claim). */
  claiming = 0;
  /** Unfinished calls (enqueued, retrying, running) counted against maxAsyncQueueLength. */
  unfinished = 0;
  /** Claimed calls waiting for a slot, oldest first. */
  readonly #claimed: ClaimedCall[] = [];
  /** Ready calls, oldest first (FIFO). */
  readonly #ready: number[] = [];
  #readyHead = 0;
  /** Calls waiting for their retry time, earliest first. */
  readonly #delayed: { seq: number; at: number }[] = [];

  constructor(service: Readonly<ServiceSpec>, fn: Readonly<FunctionSpec>) {
    this.service = service;
    this.fn = fn;
    this.config = asyncConfigOf(fn);
    this.slots = asyncSlots(fn);
  }

  get label(): string {
    return `${this.fn.serviceName}/${this.fn.name}`;
  }

  get readyCount(): number {
    return this.#ready.length - this.#readyHead;
  }

  /** The next ready call, left in the queue. */
  peekReady(): number | undefined {
    return this.#ready[this.#readyHead];
  }

  pushReady(seq: number): void {
    this.#ready.push(seq);
  }

  /** Back to the front: it was refused at once and keeps its turn. */
  unshiftReady(seq: number): void {
    if (this.#readyHead > 0) this.#ready[--this.#readyHead] = seq;
    else this.#ready.unshift(seq);
  }

  shiftReady(): number | undefined {
    if (this.#readyHead >= this.#ready.length) return undefined;
    const seq = this.#ready[this.#readyHead];
    this.#readyHead += 1;
    // Compact now and then instead of shifting on every call (Array#shift is O(n)).
    if (this.#readyHead > 1024 && this.#readyHead * 2 > this.#ready.length) {
      this.#ready.splice(0, this.#readyHead);
      this.#readyHead = 0;
    }
    return seq;
  }

  get claimedCount(): number {
    return this.#claimed.length;
  }

  pushClaimed(claim: ClaimedCall): void {
    this.#claimed.push(claim);
  }

  /** Back to the front: the pool refused it at once and it keeps its turn. */
  unshiftClaimed(claim: ClaimedCall): void {
    this.#claimed.unshift(claim);
  }

  shiftClaimed(): ClaimedCall | undefined {
    return this.#claimed.shift();
  }

  /** Every claimed call, which the lane no longer holds (shutdown gives their attempts back). */
  takeClaimed(): ClaimedCall[] {
    return this.#claimed.splice(0);
  }

  delay(seq: number, at: number): void {
    let i = this.#delayed.length;
    while (i > 0 && (this.#delayed[i - 1]?.at ?? 0) > at) i -= 1;
    this.#delayed.splice(i, 0, { seq, at });
  }

  /** Move every delayed call due by `now` to the ready queue; returns the next due time, if any. */
  promoteDue(now: number): number | undefined {
    while (this.#delayed.length > 0 && (this.#delayed[0]?.at ?? Infinity) <= now) {
      const due = this.#delayed.shift();
      if (due !== undefined) this.pushReady(due.seq);
    }
    return this.#delayed[0]?.at;
  }

  /** Take a claimed call out (cancel, stop), if it is one. */
  removeClaimed(seq: number): ClaimedCall | undefined {
    const index = this.#claimed.findIndex((c) => c.call.record.seq === seq);
    return index === -1 ? undefined : this.#claimed.splice(index, 1)[0];
  }

  /** Take a waiting call out (cancel): ready or delayed. False when it is not there (claimed, running, or unknown). */
  remove(seq: number): boolean {
    const readyIndex = this.#ready.indexOf(seq, this.#readyHead);
    if (readyIndex !== -1) {
      this.#ready.splice(readyIndex, 1);
      return true;
    }
    const delayedIndex = this.#delayed.findIndex((d) => d.seq === seq);
    if (delayedIndex !== -1) {
      this.#delayed.splice(delayedIndex, 1);
      return true;
    }
    return false;
  }
}
