/**
 * Invocation records (§10.3) in the cluster's replicated KV bucket (./names.ts RECORD_BUCKET):
 * any gateway answers a status query (§10.7) or `edgefc invocations list|get` (§9.4, §9.5) for
 * any call. Changes that race (a cancel against a run starting, §9.6) are compare-and-set on the
 * key's revision, so exactly one of them wins.
 */
import { JetStreamApiCodes, JetStreamApiError } from '@nats-io/jetstream';
import type { KV } from '@nats-io/kv';
import type { ListFilter } from '../async-store.js';
import { UNFINISHED_STATES, type InvocationRecord } from '../invocation-record.js';
import { recordKeysOf } from './names.js';
import { decodeRecordEntry, encodeRecordEntry, type RecordEntry } from './record-entry.js';

export interface StoredEntry extends RecordEntry {
  revision: number;
}

/** Records one `list` reads at most: a bucket holds up to its TTL's worth of calls. */
const MAX_LISTED_KEYS = 20_000;

export class RecordBucket {
  readonly #kv: KV;

  constructor(kv: KV) {
    this.#kv = kv;
  }

  async get(key: string): Promise<StoredEntry | undefined> {
    const entry = await this.#kv.get(key);
    if (entry === null || entry.operation !== 'PUT') return undefined;
    return { ...decodeRecordEntry(entry.value), revision: entry.revision };
  }

  /** Write a record that must be new; undefined when the key exists already. */
  async create(key: string, entry: RecordEntry): Promise<number | undefined> {
    try {
      return await this.#kv.create(key, encodeRecordEntry(entry));
    } catch (error) {
      if (isWrongRevision(error)) return undefined;
      throw error;
    }
  }

  /** Write over `revision` only; undefined when someone wrote the key since. */
  async update(key: string, entry: RecordEntry, revision: number): Promise<number | undefined> {
    try {
      return await this.#kv.update(key, encodeRecordEntry(entry), revision);
    } catch (error) {
      if (isWrongRevision(error)) return undefined;
      throw error;
    }
  }

  put(key: string, entry: RecordEntry): Promise<number> {
    return this.#kv.put(key, encodeRecordEntry(entry));
  }

  /** Every client's record of a request ID, newest first (§9.5). */
  async findByRequestId(requestId: string): Promise<InvocationRecord[]> {
    const records: InvocationRecord[] = [];
    for await (const key of await this.#kv.keys(recordKeysOf(requestId))) {
      const stored = await this.get(key);
      if (stored !== undefined) records.push(stored.record);
    }
    return records.sort((a, b) => b.createdAt - a.createdAt);
  }

  /**
   * §9.4, newest first. A KV bucket has no index: this reads every key (up to MAX_LISTED_KEYS),
   * which is an operator's query, not a device's.
   */
  async list(filter: ListFilter): Promise<InvocationRecord[]> {
    const matched: InvocationRecord[] = [];
    let read = 0;
    for await (const key of await this.#kv.keys()) {
      if (++read > MAX_LISTED_KEYS) break;
      const stored = await this.get(key);
      if (stored === undefined) continue;
      const { record } = stored;
      if (filter.service !== undefined && record.service !== filter.service) continue;
      if (filter.function !== undefined && record.function !== filter.function) continue;
      if (filter.state !== undefined && record.state !== filter.state) continue;
      matched.push(record);
    }
    return matched.sort((a, b) => b.createdAt - a.createdAt).slice(0, filter.limit ?? 100);
  }

  /**
   * Every unfinished record (enqueued, running, retrying), in one pass over the bucket's stream
   * (one flow of messages, not a request per key): the lost-call check's read (./lost-call-check.ts).
   */
  async *unfinished(): AsyncGenerator<ListedEntry> {
    // The bucket keeps one value per key (history 1): its "history" is every key's last value.
    const values = await this.#kv.history();
    try {
      for await (const value of values) {
        if (value.operation !== 'PUT') continue;
        let entry: RecordEntry;
        try {
          entry = decodeRecordEntry(value.value);
        } catch {
          continue; // not a record this gateway wrote: nothing it could publish again
        }
        if (UNFINISHED_STATES.includes(entry.record.state)) yield { key: value.key, entry: { ...entry, revision: value.revision } };
      }
    } finally {
      values.stop();
    }
  }
}

/** A record as one pass over the bucket read it. */
export interface ListedEntry {
  key: string;
  entry: StoredEntry;
}

function isWrongRevision(error: unknown): boolean {
  return (
    error instanceof JetStreamApiError &&
    (error.code === JetStreamApiCodes.StreamWrongLastSequence || error.code === JetStreamApiCodes.StreamWrongLastSequenceUnknown)
  );
}
