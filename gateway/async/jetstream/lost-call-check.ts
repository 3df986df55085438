/**
 * The lost-call check (docs/cluster.md "Async calls", "A call the stream lost"): every unfinished
 * record names the stream sequence its call was stored under and keeps a copy of the call
 * (./record-entry.ts `message`). Now and then each gateway reads every record; for an unfinished
 * one whose stream message is gone, it publishes the kept copy again, so the call runs.
 *
 * Why: an acknowledged publish to an R3 stream should survive the loss of a node, yet one kill
 * test under nats-server 2.9.10 ended with 102 accepted calls gone from a stream whose replicas
 * had diverged, their records still `enqueued`. The record bucket is a second replicated copy,
 * in its own Raft group: a call is lost now only if both lose it.
 *
 * A copy published again is one more delivery of a call whose record decides what happens (the
 * runner, ./jetstream-runner.ts): a call that finished meanwhile is ACKed unrun, a running one
 * is left to its run. Gateways checking at once publish the same message ID (the record's
 * revision in it), which the stream's duplicate window keeps to one copy.
 */
import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import type { Logger } from '../../logging/logger.js';
import type { Registry } from '../../registry/registry.js';
import { FINISHED_STATES, type InvocationRecord } from '../invocation-record.js';
import { decodeCallMessage } from './call-message.js';
import { ASYNC_STREAM, callMessageId, callSubject, recordKey } from './names.js';
import type { RecordBucket, StoredEntry } from './record-bucket.js';

export interface LostCallCheckOptions {
  js: JetStreamClient;
  jsm: JetStreamManager;
  records: RecordBucket;
  registry: Registry;
  logger: Logger;
  now: () => number;
  /** How often the check runs; also how old a record must be to be checked. */
  intervalMs: number;
  /** The consumer's ack_wait: how long a dead gateway's run takes to be handed on. */
  ackWaitMs: number;
  /** Counts each call published again (edgefc_async_republished_total). */
  republished?: (fn: string) => void;
}

export interface LostCallCheckResult {
  /** Unfinished records old enough to check. */
  checked: number;
  /** Of those, calls the stream no longer held, published again. */
  republished: number;
}

/** A run's record says `running` at least this long past its function's timeout before its message is looked for. */
const RUN_GRACE_FACTOR = 2;
/** The timeout assumed for a function the template no longer has. */
const UNKNOWN_TIMEOUT_MS = 600_000;

export class LostCallCheck {
  readonly #o: LostCallCheckOptions;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<LostCallCheckResult> | undefined;
  #stopped = false;

  constructor(options: LostCallCheckOptions) {
    this.#o = options;
  }

  start(): void {
    this.#schedule(this.#o.intervalMs);
  }

  /** Check again soon (after a reconnect: a node was lost, and may have taken calls with it). */
  soon(delayMs = 5_000): void {
    if (this.#stopped) return;
    clearTimeout(this.#timer);
    this.#schedule(delayMs);
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }

  /** One pass over the records (one at a time per gateway). */
  run(): Promise<LostCallCheckResult> {
    this.#running ??= this.#pass().finally(() => (this.#running = undefined));
    return this.#running;
  }

  #schedule(delayMs: number): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      void this.run()
        .then((result) => {
          if (result.republished > 0) this.#o.logger.warn('Async calls the stream had lost were published again', { ...result });
        })
        .catch((error: unknown) => this.#o.logger.warn('the lost-call check did not finish; it runs again later', { error: String(error) }))
        .finally(() => this.#schedule(this.#o.intervalMs));
    }, delayMs);
    this.#timer.unref();
  }

  async #pass(): Promise<LostCallCheckResult> {
    const result: LostCallCheckResult = { checked: 0, republished: 0 };
    for await (const { key, entry } of this.#o.records.unfinished()) {
      if (this.#stopped) break;
      if (!this.#due(entry.record)) continue;
      result.checked += 1;
      if (await this.#inStream(key, entry.record.seq)) continue;
      if (await this.#publishAgain(key)) result.republished += 1;
    }
    return result;
  }

  /** Old enough that its message must be in the stream: not just accepted, not a live run. */
  #due(record: InvocationRecord): boolean {
    const now = this.#o.now();
    if (record.updatedAt > now - this.#o.intervalMs) return false;
    if (record.state !== 'running') return true;
    // A run holds its delivery (in-progress acks) until its record is final: its message stays
    // in the stream all along, but a run whose message was lost can only be told from a live
    // one by its age. Past its timeout (and a dead gateway's ack_wait), no run is still going.
    const timeoutMs = this.#o.registry.find(record.service, record.function)?.fn.timeoutMs ?? UNKNOWN_TIMEOUT_MS;
    return (record.startedAt ?? record.updatedAt) < now - RUN_GRACE_FACTOR * (timeoutMs + this.#o.ackWaitMs);
  }

  /** The message under the record's sequence is this call's (a diverged replica may reuse a sequence for another call). */
  async #inStream(key: string, seq: number): Promise<boolean> {
    const stored = await this.#o.jsm.streams.getMessage(ASYNC_STREAM, { seq });
    if (stored === null) return false;
    try {
      const call = decodeCallMessage(stored.data);
      return recordKey(call.clientId, call.requestId) === key;
    } catch {
      return false;
    }
  }

  /**
   * Read the record again (a run may have finished, and ACKed its message, since the pass read
   * it), publish its copy, and point the record at the new sequence. False when there was
   * nothing to publish.
   */
  async #publishAgain(key: string): Promise<boolean> {
    const stored = await this.#o.records.get(key);
    if (stored === undefined || FINISHED_STATES.includes(stored.record.state)) return false;
    const { record, message } = stored;
    if (message === undefined) {
      this.#o.logger.error('an Async call is gone from the stream and its record keeps no copy (written by an older gateway); it will not run', {
        requestId: record.requestId,
        function: `${record.service}/${record.function}`,
      });
      return false;
    }
    const ack = await this.#o.js.publish(callSubject(record.service, record.function), message, {
      msgID: `${callMessageId(record.clientId, record.requestId)}.again${stored.revision}`,
    });
    if (ack.duplicate) return false; // another gateway published it for this revision
    this.#o.logger.warn('an accepted Async call was gone from the stream; published again from its record', {
      requestId: record.requestId,
      function: `${record.service}/${record.function}`,
      state: record.state,
      lostSeq: record.seq,
      seq: ack.seq,
    });
    this.#o.republished?.(`${record.service}/${record.function}`);
    // The next pass looks for it under its new sequence. A run that changed the record meanwhile
    // wins; the copy just published is then ACKed unrun or left to that run.
    await this.#o.records.update(key, { ...withoutRevision(stored), record: { ...record, seq: ack.seq } }, stored.revision);
    return true;
  }
}

function withoutRevision(stored: StoredEntry): Omit<StoredEntry, 'revision'> {
  const { revision: _revision, ...entry } = stored;
  return entry;
}
