/**
 * How many Async calls each function has in the cluster's stream (§10.6 `maxAsyncQueueLength`,
 * docs/cluster.md "Async calls"): the stream keeps a function's calls on a subject of their own
 * (./names.ts callSubject) until they are finished, so its per-subject message counts are the
 * functions' unfinished calls, waiting and running alike, as on one box.
 *
 * Asking the stream on every call would add a round trip to the leader to each acceptance: the
 * counts are read once per REFRESH_MS (one request for every function), and the calls this
 * gateway accepted since are added. With several gateways a function may go over its limit by
 * what the others accept within one refresh.
 */
import type { JetStreamManager } from '@nats-io/jetstream';
import type { Logger } from '../../logging/logger.js';
import { ASYNC_CALL_SUBJECTS, ASYNC_STREAM, callSubject } from './names.js';

/** How often the counts are read from the stream. */
export const REFRESH_MS = 1_000;

export class QueueLengths {
  readonly #jsm: JetStreamManager;
  readonly #logger: Logger;
  /** Messages per call subject at the last read. */
  #counted = new Map<string, number>();
  /** Calls this gateway accepted since that read, per call subject. */
  #acceptedSince = new Map<string, number>();
  #timer: NodeJS.Timeout | undefined;
  #reading = false;

  constructor(jsm: JetStreamManager, logger: Logger) {
    this.#jsm = jsm;
    this.#logger = logger;
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
    return (this.#counted.get(subject) ?? 0) + (this.#acceptedSince.get(subject) ?? 0);
  }

  accepted(service: string, fn: string): void {
    const subject = callSubject(service, fn);
    this.#acceptedSince.set(subject, (this.#acceptedSince.get(subject) ?? 0) + 1);
  }

  async #read(): Promise<void> {
    if (this.#reading) return;
    this.#reading = true;
    // What this gateway accepts while the read is on its way may or may not be in its answer:
    // counted twice until the next read rather than not at all.
    const pending = new Map(this.#acceptedSince);
    try {
      const info = await this.#jsm.streams.info(ASYNC_STREAM, { subjects_filter: ASYNC_CALL_SUBJECTS });
      this.#counted = new Map(Object.entries(info.state.subjects ?? {}));
      for (const [subject, accepted] of pending) {
        const left = (this.#acceptedSince.get(subject) ?? 0) - accepted;
        if (left > 0) this.#acceptedSince.set(subject, left);
        else this.#acceptedSince.delete(subject);
      }
    } catch (error) {
      // A node lost: the last counts stand (and grow with this gateway's acceptances) until a read works.
      this.#logger.debug('cannot read the Async stream\'s per-function counts; keeping the last', { error: String(error) });
    } finally {
      this.#reading = false;
    }
  }
}
