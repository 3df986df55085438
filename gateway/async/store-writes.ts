/**
 * Every change the Async store makes, and the batch format that carries them to the writer
 * thread: the gateway adds writes to a `WriteBatchBuilder` (./store-writer.ts), the thread
 * commits a batch in one transaction, so one group commit costs one fsync
 * (./store-writer-worker.ts, `createWriteApplier`). Both halves are here, so they stay in step.
 *
 * The format is a flat list of primitives, each write its op code and then its fields in a fixed
 * order, because posting it is work on the gateway's event loop: V8 clones an array of
 * primitives ~4× faster than the same writes as objects (0.15 vs 0.6-0.8 µs per write,
 * measured), and builds no objects for the GC to collect. Byte fields (events, results) go in one
 * block per batch that is transferred, not copied: a Buffer posted as such would copy its whole
 * backing store, which for an event cut from a socket read or from Node's 8 KiB pool is far more
 * than the event.
 */
import type Database from 'better-sqlite3';
import type { WireError } from 'edgefc/errors';
import { FINISHED_STATES, type InvocationState, type NewInvocation } from './invocation-record.js';

/** What ends a call (async-service.ts builds it; `markFinished` writes it). */
export interface FinishFields {
  state: InvocationState;
  finishedAt: number;
  durationMs: number | undefined;
  result: Buffer | undefined;
  resultBinary: boolean;
  error: WireError | undefined;
  logTail: string[];
  destinationPending: string | undefined;
}

/**
 * Op codes. What each write's result (a number) means:
 * - `insert`: the new call's seq, or 0 when its client and request ID were stored already (§10.2);
 * - `finished`: the seq of the `fc://` destination call stored with it, or 0;
 * - `prune`: how many records were deleted;
 * - the others: 0.
 */
const Op = { insert: 0, running: 1, retrying: 2, finished: 3, requeue: 4, clearDestination: 5, prune: 6 } as const;

type Value = string | number | null;

/** A batch as it crosses to the writer thread. */
export interface WriteBatch {
  values: Value[];
  /** The batch's bytes; `values` holds offsets and lengths into it. */
  block: ArrayBuffer;
}

/** The writer thread's answer to a batch: one result per write, or why none was committed. */
export type BatchOutcome = { results: number[] } | { error: string };

/** Collects writes into the next batch; one method per kind of change. */
export class WriteBatchBuilder {
  readonly #values: Value[] = [];
  readonly #chunks: Buffer[] = [];
  #bytes = 0;

  /** A new call, state enqueued. */
  insert(call: NewInvocation): void {
    this.#values.push(Op.insert);
    this.#call(call);
  }

  running(seq: number, attempts: number, at: number): void {
    this.#values.push(Op.running, seq, attempts, at);
  }

  retrying(seq: number, nextAttemptAt: number, at: number, durationMs: number | undefined, error: WireError, logTail: string[]): void {
    this.#values.push(Op.retrying, seq, nextAttemptAt, at, durationMs ?? null, JSON.stringify(error), JSON.stringify(logTail));
  }

  /** A final state; `destination` (an `fc://` destination's call) is stored in the same transaction (§10.5). */
  finished(seq: number, fields: FinishFields, destination: NewInvocation | undefined): void {
    const values = this.#values;
    values.push(Op.finished, seq, fields.state, fields.finishedAt, fields.durationMs ?? null);
    if (fields.result === undefined) values.push(null, null);
    else this.#addBytes(fields.result);
    values.push(
      fields.resultBinary ? 1 : 0,
      fields.error === undefined ? null : JSON.stringify(fields.error),
      JSON.stringify(fields.logTail),
      fields.destinationPending ?? null,
      destination === undefined ? 0 : 1,
    );
    if (destination !== undefined) this.#call(destination);
  }

  /** Back to waiting (a call that was running when the gateway stopped); `attempts` sets its count back. */
  requeue(seq: number, at: number, attempts: number | undefined): void {
    this.#values.push(Op.requeue, seq, at, attempts ?? null);
  }

  clearDestination(seq: number): void {
    this.#values.push(Op.clearDestination, seq);
  }

  /** Delete finished records that finished before `finishedBefore`, then all but the newest `keep`. */
  prune(finishedBefore: number, keep: number): void {
    this.#values.push(Op.prune, finishedBefore, keep);
  }

  /** The batch, its byte block in a fresh ArrayBuffer to transfer. */
  build(): WriteBatch {
    const block = new Uint8Array(this.#bytes);
    let at = 0;
    for (const chunk of this.#chunks) {
      block.set(chunk, at);
      at += chunk.length;
    }
    return { values: this.#values, block: block.buffer };
  }

  #call(call: NewInvocation): void {
    this.#values.push(call.clientId, call.requestId, call.service, call.function, call.source, call.topic ?? null, call.createdAt);
    this.#addBytes(call.event);
    this.#values.push(call.invokerContext === undefined ? null : JSON.stringify(call.invokerContext), call.qualifier);
    this.#values.push(call.trace?.traceparent ?? null, call.trace?.tracestate ?? null, call.notBefore ?? null);
  }

  #addBytes(buffer: Buffer): void {
    this.#values.push(this.#bytes, buffer.length);
    this.#chunks.push(buffer);
    this.#bytes += buffer.length;
  }
}

/** Reads a batch's values in order, as WriteBatchBuilder wrote them (the writer thread's side). */
class Reader {
  #at = 0;
  readonly #values: Value[];
  readonly #block: ArrayBuffer;

  constructor(batch: WriteBatch) {
    this.#values = batch.values;
    this.#block = batch.block;
  }

  get done(): boolean {
    return this.#at >= this.#values.length;
  }

  next(): Value {
    const value = this.#values[this.#at];
    this.#at += 1;
    return value ?? null;
  }

  bytes(): Buffer | null {
    const at = this.next();
    const length = this.next();
    return at === null || length === null ? null : Buffer.from(this.#block, Number(at), Number(length));
  }
}

/** Commits batches on one connection; `apply` throws when the transaction failed (then nothing of it was written). */
export interface WriteApplier {
  apply(batch: WriteBatch): number[];
}

export function createWriteApplier(db: Database.Database): WriteApplier {
  const finished = FINISHED_STATES.map((s) => `'${s}'`).join(', ');
  const stmts = {
    insert: db.prepare<(Value | Buffer)[]>(
      `INSERT OR IGNORE INTO invocations (client_id, request_id, service, function, source, topic, state, created_at, updated_at, event, invoker_context, qualifier,
       traceparent, tracestate, next_attempt_at)
       VALUES (?, ?, ?, ?, ?, ?, 'enqueued', ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    running: db.prepare<Value[]>(
      "UPDATE invocations SET state = 'running', attempts = ?, started_at = ?, updated_at = ?, next_attempt_at = NULL WHERE seq = ?",
    ),
    retrying: db.prepare<Value[]>(
      "UPDATE invocations SET state = 'retrying', next_attempt_at = ?, updated_at = ?, duration_ms = ?, error = ?, log_tail = ? WHERE seq = ?",
    ),
    finished: db.prepare<(Value | Buffer)[]>(
      `UPDATE invocations SET state = ?, finished_at = ?, updated_at = ?, duration_ms = ?, result = ?, result_binary = ?, error = ?,
       log_tail = ?, destination_pending = ?, next_attempt_at = NULL WHERE seq = ?`,
    ),
    requeue: db.prepare<Value[]>(
      "UPDATE invocations SET state = 'retrying', next_attempt_at = ?, updated_at = ?, attempts = COALESCE(?, attempts) WHERE seq = ?",
    ),
    clearDestination: db.prepare<Value[]>('UPDATE invocations SET destination_pending = NULL WHERE seq = ?'),
    pruneAge: db.prepare<Value[]>(`DELETE FROM invocations WHERE state IN (${finished}) AND destination_pending IS NULL AND finished_at < ?`),
    pruneCount: db.prepare<Value[]>(
      `DELETE FROM invocations WHERE seq IN (SELECT seq FROM invocations WHERE state IN (${finished}) AND destination_pending IS NULL
       ORDER BY seq DESC LIMIT -1 OFFSET ?)`,
    ),
  };

  const insert = (r: Reader): number => {
    const clientId = r.next();
    const requestId = r.next();
    const service = r.next();
    const fn = r.next();
    const source = r.next();
    const topic = r.next();
    const createdAt = r.next();
    const info = stmts.insert.run(clientId, requestId, service, fn, source, topic, createdAt, createdAt, r.bytes(), r.next(), r.next(), r.next(), r.next(), r.next());
    return info.changes === 1 ? Number(info.lastInsertRowid) : 0;
  };

  const applyOne = (r: Reader): number => {
    const op = r.next();
    switch (op) {
      case Op.insert:
        return insert(r);
      case Op.running: {
        const [seq, attempts, at] = [r.next(), r.next(), r.next()];
        stmts.running.run(attempts, at, at, seq);
        return 0;
      }
      case Op.retrying: {
        const [seq, nextAttemptAt, at, durationMs, error, logTail] = [r.next(), r.next(), r.next(), r.next(), r.next(), r.next()];
        stmts.retrying.run(nextAttemptAt, at, durationMs, error, logTail, seq);
        return 0;
      }
      case Op.finished: {
        const [seq, state, at, durationMs] = [r.next(), r.next(), r.next(), r.next()];
        const result = r.bytes();
        const [resultBinary, error, logTail, destinationPending, hasDestination] = [r.next(), r.next(), r.next(), r.next(), r.next()];
        stmts.finished.run(state, at, at, durationMs, result, resultBinary, error, logTail, destinationPending, seq);
        return hasDestination === 1 ? insert(r) : 0;
      }
      case Op.requeue: {
        const [seq, at, attempts] = [r.next(), r.next(), r.next()];
        stmts.requeue.run(at, at, attempts, seq);
        return 0;
      }
      case Op.clearDestination:
        stmts.clearDestination.run(r.next());
        return 0;
      case Op.prune: {
        const [finishedBefore, keep] = [r.next(), r.next()];
        return stmts.pruneAge.run(finishedBefore).changes + stmts.pruneCount.run(keep).changes;
      }
      default:
        throw new Error(`unknown store write op ${String(op)}`);
    }
  };

  // One transaction function for every batch (better-sqlite3 builds four wrappers per `transaction()`).
  const commit = db.transaction((batch: WriteBatch): number[] => {
    const reader = new Reader(batch);
    const results: number[] = [];
    while (!reader.done) results.push(applyOne(reader));
    return results;
  });
  return { apply: (batch) => commit(batch) };
}
