/**
 * Watches the shared consumer for calls it no longer delivers (docs/cluster.md "Async calls",
 * "Known limits"): nats-server 2.9.10 was seen, after the consumer's leader node was killed, to
 * report messages in the work-queue stream while its consumer had none pending and none awaiting
 * an acknowledgement; those calls were never delivered again (242 of 1,500 in one kill test run).
 *
 * When a check finds that twice in a row, the consumer is deleted and created again with the same
 * settings: it then delivers every call left in the stream. Calls already finished are skipped by
 * their records; a call running somewhere when this happens may run again, with a higher
 * retryCount (the runner counts attempts from the record too).
 */
import type { JetStreamManager } from '@nats-io/jetstream';
import type { Logger } from '../../logging/logger.js';
import { ASYNC_CONSUMER, ASYNC_STREAM } from './names.js';

/** How often a gateway checks. Two checks in a row must agree before anything is done. */
const CHECK_INTERVAL_MS = 5_000;

export class ConsumerRepair {
  readonly #jsm: JetStreamManager;
  readonly #recreate: () => Promise<void>;
  readonly #logger: Logger;
  #suspect = false;
  #timer: NodeJS.Timeout | undefined;
  #checking = false;

  constructor(jsm: JetStreamManager, recreate: () => Promise<void>, logger: Logger) {
    this.#jsm = jsm;
    this.#recreate = recreate;
    this.#logger = logger;
  }

  start(): void {
    this.#timer = setInterval(() => void this.#check(), CHECK_INTERVAL_MS);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  async #check(): Promise<void> {
    if (this.#checking) return;
    this.#checking = true;
    try {
      const stream = await this.#jsm.streams.info(ASYNC_STREAM);
      const consumer = await this.#jsm.consumers.info(ASYNC_STREAM, ASYNC_CONSUMER);
      const stuck = stream.state.messages > 0 && consumer.num_pending === 0 && consumer.num_ack_pending === 0;
      if (!stuck) {
        this.#suspect = false;
        return;
      }
      if (!this.#suspect) {
        this.#suspect = true;
        return;
      }
      this.#suspect = false;
      this.#logger.warn('the Async consumer delivers none of the calls left in the stream; creating it again', { calls: stream.state.messages });
      await this.#recreate();
    } catch (error) {
      // A node lost, a leader being elected: the next check tries again.
      this.#logger.debug('Async consumer check failed', { error: String(error) });
    } finally {
      this.#checking = false;
    }
  }
}
