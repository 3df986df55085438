/**
 * How many Async calls each function has in the cluster's stream (§10.6 `maxAsyncQueueLength`,
 * docs/cluster.md "Async calls"): the stream keeps a function's calls on a subject of their own
 * (./names.ts callSubject) until they are finished, so its per-subject message counts are the
 * functions' unfinished calls, waiting and running alike, as on one box.
 *
 * Asking the stream on every call would add a round trip to the leader to each acceptance: the
 * counts are read once per REFRESH_MS (one request for every function), and the calls this
 * gateway accepted in the last few seconds are added. With several gateways a function may go
 * over its limit by what the others accept before a read shows it to this one.
 */
import type { JetStreamManager } from '@nats-io/jetstream';
import type { Logger } from '../../logging/logger.js';
import { ASYNC_CALL_SUBJECTS, ASYNC_STREAM, callSubject } from './names.js';

/** How often the counts are read from the stream. */
export const REFRESH_MS = 1_000;

/**
 * How long this gateway counts a call it accepted on top of the stream's counts: until reads of
 * the stream have surely seen it (a read may be answered from a state a little older than its
 * request). Counted twice meanwhile, when a read has seen it: stricter, never looser.
 */
const OWN_ACCEPTS_KEPT_MS = 3 * REFRESH_MS;

export class QueueLengths {
  readonly #jsm: JetStreamManager;
  readonly #logger: Logger;
  readonly #now: () => number;
  /** Messages per call subject at the last read. */
  #counted = new Map<string, number>();
  /** When this gateway accepted each of its recent calls, per call subject (oldest first). */
  readonly #ownAccepts = new Map<string, number[]>();
  #timer: NodeJS.Timeout | undefined;
  #reading = false;

  constructor(jsm: JetStreamManager, logger: Logger, now: () => number = Date.now) {
    this.#jsm = jsm;
    this.#logger = logger;
    this.#now = now;
  }

  /** Read the counts now (before the first call is taken) and every REFRESH_MS after. */
  async start(): Promise<void> {
    await this.#read();
    this.#timer = setInterval(() => void this.#read(), REFRESH_MS);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  /** The function's calls in the stream, as far as this gateway knows. */
  count(service: string, fn: string): number {
    const subject = callSubject(service, fn);
    return (this.#counted.get(subject) ?? 0) + this.#recentOwn(subject).length;
  }

  accepted(service: string, fn: string): void {
    const subject = callSubject(service, fn);
    const own = this.#recentOwn(subject);
    own.push(this.#now());
    this.#ownAccepts.set(subject, own);
  }

  #recentOwn(subject: string): number[] {
    const own = this.#ownAccepts.get(subject);
    if (own === undefined) return [];
    const since = this.#now() - OWN_ACCEPTS_KEPT_MS;
    let stale = 0;
    while (stale < own.length && (own[stale] ?? 0) < since) stale += 1;
    if (stale > 0) own.splice(0, stale);
    if (own.length === 0) this.#ownAccepts.delete(subject);
    return own;
  }

  async #read(): Promise<void> {
    if (this.#reading) return;
    this.#reading = true;
    try {
      const info = await this.#jsm.streams.info(ASYNC_STREAM, { subjects_filter: ASYNC_CALL_SUBJECTS });
      this.#counted = new Map(Object.entries(info.state.subjects ?? {}));
    } catch (error) {
      // A node lost: the last counts stand (with this gateway's own acceptances on top) until a read works.
      this.#logger.debug('cannot read the Async stream\'s per-function counts; keeping the last', { error: String(error) });
    } finally {
      this.#reading = false;
    }
  }
}
