/**
 * The durable store of Async invocations: one SQLite file (`async.db`) in the gateway's data
 * directory, in WAL mode, through better-sqlite3 (docs/protocol.md §10.1). This class is what the
 * gateway sees: it reads on its own connection (a few µs, synchronous), and writes through
 * ./store-writer.ts, which commits them in groups on a writer thread's connection (from the first
 * new call on; before that, on this one).
 *
 * Group commit: writes queue up and are committed together, in one transaction with one fsync,
 * while the event loop goes on (./store-writer.ts says when a batch goes). Callers of `insert`
 * are answered only after the commit that holds their record, so "accepted" always means "on
 * disk". Reads see what is committed: a write's promise settles only once it is.
 *
 * Durability (`sync`):
 *   - `full` (default): a committed record survives a process kill and a power cut or OS crash.
 *   - `normal`: survives a process kill (kill -9); a power cut may lose the last commits.
 *   - `off`: no fsync at all; only for benchmarks and throwaway gateways.
 */
import { accessSync, constants, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { nanoid } from 'nanoid';
import { ServiceUnavailableError, type WireError } from 'edgefc/errors';
import {
  FINISHED_STATES,
  type InvocationRecord,
  type InvocationSource,
  type InvocationState,
  type NewInvocation,
} from './invocation-record.js';
import { configureConnection, migrateSchema, SCHEMA, STORE_FILE_NAME, type StoreSync } from './store-schema.js';
import { StoreWriter, type WriteUrgency } from './store-writer.js';
import type { FinishFields, WriteBatchBuilder } from './store-writes.js';

export { STORE_SYNC_MODES, type StoreSync } from './store-schema.js';
export type { FinishFields } from './store-writes.js';

export interface AsyncStoreOptions {
  /** The gateway's data directory; created if missing. */
  dir: string;
  /** @default 'full' */
  sync?: StoreSync;
}

/** What the scheduler needs to know about an unfinished call, without its event. */
export interface PendingRow {
  seq: number;
  service: string;
  function: string;
  state: InvocationState;
  attempts: number;
  nextAttemptAt: number | undefined;
  createdAt: number;
}

export interface ListFilter {
  service?: string;
  function?: string;
  state?: InvocationState;
  /** @default 100 */
  limit?: number;
}

/** The parts of a stored call needed to run it. */
export interface RunnableCall {
  record: InvocationRecord;
  event: Buffer;
  invokerContext: Record<string, unknown> | undefined;
  qualifier: string;
}

const RECORD_COLUMNS = `seq, client_id, request_id, service, function, source, topic, state, attempts, created_at, updated_at,
  started_at, finished_at, next_attempt_at, duration_ms, length(event) AS event_bytes, result, result_binary, error, log_tail,
  destination_pending, traceparent, tracestate, qualifier`;

interface RecordRow {
  seq: number;
  qualifier: string;
  client_id: string;
  request_id: string;
  service: string;
  function: string;
  source: string;
  topic: string | null;
  state: string;
  attempts: number;
  created_at: number;
  updated_at: number;
  started_at: number | null;
  finished_at: number | null;
  next_attempt_at: number | null;
  duration_ms: number | null;
  event_bytes: number;
  result: Buffer | null;
  result_binary: number;
  error: string | null;
  log_tail: string | null;
  destination_pending: string | null;
  traceparent: string | null;
  tracestate: string | null;
}

interface PayloadRow {
  event: Buffer;
  invoker_context: string | null;
  qualifier: string;
}

export class AsyncStore {
  readonly gatewayId: string;
  readonly path: string;
  readonly #db: Database.Database;
  readonly #writer: StoreWriter;
  #closed = false;
  readonly #stmts: ReturnType<typeof prepare>;

  private constructor(db: Database.Database, path: string, sync: StoreSync) {
    this.#db = db;
    this.path = path;
    this.#stmts = prepare(db);
    const id = db.prepare<[], { value: string }>("SELECT value FROM meta WHERE key = 'gateway_id'").get();
    if (id === undefined) {
      this.gatewayId = nanoid(12).replace(/[^A-Za-z0-9]/g, 'x');
      db.prepare("INSERT INTO meta (key, value) VALUES ('gateway_id', ?)").run(this.gatewayId);
    } else {
      this.gatewayId = id.value;
    }
    // Once the file, its tables and this gateway's ID exist: from here on every write goes through it.
    this.#writer = new StoreWriter(db, path, sync);
  }

  /**
   * Open (or create) the store in `dir`. Throws ServiceUnavailableError naming the directory and
   * what is wrong with it: a gateway never falls back to memory, since that would accept calls
   * it cannot keep.
   */
  static open(options: AsyncStoreOptions): AsyncStore {
    const { dir } = options;
    const file = join(dir, STORE_FILE_NAME);
    const fail = (what: string, cause: unknown): ServiceUnavailableError =>
      new ServiceUnavailableError(`data directory ${dir}: ${what}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    try {
      mkdirSync(dir, { recursive: true });
      accessSync(dir, constants.W_OK | constants.R_OK | constants.X_OK);
    } catch (error) {
      throw fail('cannot create or write it (choose another with --data)', error);
    }
    const sync = options.sync ?? 'full';
    let db: Database.Database;
    try {
      db = new Database(file);
    } catch (error) {
      throw fail(`cannot open ${STORE_FILE_NAME}`, error);
    }
    try {
      configureConnection(db, sync);
      const check = db.pragma('quick_check', { simple: true });
      if (check !== 'ok') throw new Error(`integrity check: ${String(check)}`);
      db.exec(SCHEMA);
      migrateSchema(db);
      return new AsyncStore(db, file, sync);
    } catch (error) {
      db.close();
      throw fail(`${STORE_FILE_NAME} is not a usable edgefc store (corrupt, or not writable); move it away to start afresh`, error);
    }
  }

  /**
   * Store a new call. Resolves once committed, with its seq, or undefined when the caller's
   * request ID was already stored: that call is not stored twice (§10.2).
   */
  insert(call: NewInvocation): Promise<number | undefined> {
    return this.#write('accept', (batch) => batch.insert(call)).then(orUndefined);
  }

  /**
   * A run starts: its attempt number. Committed on the next turn (it does not wait for the lazy
   * timer), because the run waits for it: a run that a crash interrupts must be counted, so the
   * one after it sees a higher retryCount.
   */
  markRunning(seq: number, attempts: number, startedAt: number): Promise<void> {
    return this.#write('prompt', (batch) => batch.running(seq, attempts, startedAt)).then(nothing);
  }

  markRetrying(seq: number, nextAttemptAt: number, now: number, durationMs: number | undefined, error: WireError, logTail: string[]): Promise<void> {
    return this.#write('lazy', (batch) => batch.retrying(seq, nextAttemptAt, now, durationMs, error, logTail)).then(nothing);
  }

  /**
   * A call reaches a final state. `destination`, an `fc://` destination's call, is stored in the
   * same transaction (§10.5); resolves with its seq (undefined without one, or if it existed).
   */
  markFinished(seq: number, fields: FinishFields, destination?: NewInvocation): Promise<number | undefined> {
    return this.#write('lazy', (batch) => batch.finished(seq, fields, destination)).then(orUndefined);
  }

  /**
   * Back to waiting: a call that was running when the gateway stopped, or (with `attempts`) one
   * marked running that was then not started, which gets its attempt back.
   */
  requeue(seq: number, now: number, attempts?: number): Promise<void> {
    return this.#write('lazy', (batch) => batch.requeue(seq, now, attempts)).then(nothing);
  }

  clearDestination(seq: number): Promise<void> {
    return this.#write('lazy', (batch) => batch.clearDestination(seq)).then(nothing);
  }

  /** Is a call with this client and request ID stored (committed)? */
  has(clientId: string, requestId: string): boolean {
    return this.#stmts.seqOf.get(clientId, requestId) !== undefined;
  }

  find(clientId: string, requestId: string): InvocationRecord | undefined {
    const row = this.#stmts.find.get(clientId, requestId);
    return row === undefined ? undefined : toRecord(row);
  }

  /** Every record with this request ID (IDs are unique per client, §3.3), newest first. */
  findByRequestId(requestId: string): InvocationRecord[] {
    return this.#stmts.findById.all(requestId).map(toRecord);
  }

  get(seq: number): InvocationRecord | undefined {
    const row = this.#stmts.get.get(seq);
    return row === undefined ? undefined : toRecord(row);
  }

  /** One read of the record and what running it needs (every run starts with one). */
  load(seq: number): RunnableCall | undefined {
    const row = this.#stmts.load.get(seq);
    if (row === undefined) return undefined;
    return {
      record: toRecord(row),
      event: row.event,
      invokerContext: row.invoker_context === null ? undefined : (JSON.parse(row.invoker_context) as Record<string, unknown>),
      qualifier: row.qualifier,
    };
  }

  /** The event bytes of a call (destination messages carry them, §10.5). */
  event(seq: number): Buffer | undefined {
    return this.#stmts.event.get(seq)?.event;
  }

  unfinished(): PendingRow[] {
    return this.#stmts.unfinished.all().map((row) => ({
      seq: row.seq,
      service: row.service,
      function: row.function,
      state: row.state as InvocationState,
      attempts: row.attempts,
      nextAttemptAt: row.next_attempt_at ?? undefined,
      createdAt: row.created_at,
    }));
  }

  pendingDestinations(): InvocationRecord[] {
    return this.#stmts.pendingDestinations.all().map(toRecord);
  }

  list(filter: ListFilter): InvocationRecord[] {
    const where: string[] = [];
    const args: (string | number)[] = [];
    if (filter.service !== undefined) {
      where.push('service = ?');
      args.push(filter.service);
    }
    if (filter.function !== undefined) {
      where.push('function = ?');
      args.push(filter.function);
    }
    if (filter.state !== undefined) {
      where.push('state = ?');
      args.push(filter.state);
    }
    const sql = `SELECT ${RECORD_COLUMNS} FROM invocations ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY seq DESC LIMIT ?`;
    args.push(filter.limit ?? 100);
    return this.#db.prepare<(string | number)[], RecordRow>(sql).all(...args).map(toRecord);
  }

  /** Delete finished records older than `maxAgeMs`, then all but the newest `maxRecords` finished ones. */
  prune(now: number, maxAgeMs: number, maxRecords: number): Promise<number> {
    return this.#write('lazy', (batch) => batch.prune(now - maxAgeMs, maxRecords));
  }

  /** Commit what waits, stop the writer thread, close the file. */
  /** False once close() has begun (readiness, metrics-server.ts). */
  get isOpen(): boolean {
    return !this.#closed;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#writer.close();
    // Last, so this connection is the last one: closing it checkpoints the WAL into the file.
    this.#db.close();
  }

  /**
   * Queue a write. `accept` (a new call: someone waits for "accepted") and `prompt` (a run waits)
   * go in the next batch; `lazy` state changes wait up to 20 ms or ride along with the next
   * batch (./store-writer.ts).
   */
  #write(urgency: WriteUrgency, add: (batch: WriteBatchBuilder) => void): Promise<number> {
    if (this.#closed) return Promise.reject(new ServiceUnavailableError('the async store is closed'));
    return this.#writer.write(urgency, add);
  }
}

const nothing = (): void => undefined;
/** A write's result, where 0 means "none" (store-writes.ts, Op). */
const orUndefined = (result: number): number | undefined => (result === 0 ? undefined : result);

/** The reads; every write is in ./store-writes.ts, on the writer thread's connection. */
function prepare(db: Database.Database) {
  const finished = FINISHED_STATES.map((s) => `'${s}'`).join(', ');
  return {
    seqOf: db.prepare<[string, string], { seq: number }>('SELECT seq FROM invocations WHERE client_id = ? AND request_id = ?'),
    find: db.prepare<[string, string], RecordRow>(`SELECT ${RECORD_COLUMNS} FROM invocations WHERE client_id = ? AND request_id = ?`),
    findById: db.prepare<[string], RecordRow>(`SELECT ${RECORD_COLUMNS} FROM invocations WHERE request_id = ? ORDER BY seq DESC`),
    get: db.prepare<[number], RecordRow>(`SELECT ${RECORD_COLUMNS} FROM invocations WHERE seq = ?`),
    event: db.prepare<[number], { event: Buffer }>('SELECT event FROM invocations WHERE seq = ?'),
    load: db.prepare<[number], RecordRow & PayloadRow>(`SELECT ${RECORD_COLUMNS}, event, invoker_context FROM invocations WHERE seq = ?`),
    unfinished: db.prepare<[], Pick<RecordRow, 'seq' | 'service' | 'function' | 'state' | 'attempts' | 'next_attempt_at' | 'created_at'>>(
      `SELECT seq, service, function, state, attempts, next_attempt_at, created_at FROM invocations WHERE state NOT IN (${finished}) ORDER BY seq`,
    ),
    pendingDestinations: db.prepare<[], RecordRow>(`SELECT ${RECORD_COLUMNS} FROM invocations WHERE destination_pending IS NOT NULL ORDER BY seq`),
  };
}

function toRecord(row: RecordRow): InvocationRecord {
  return {
    seq: row.seq,
    qualifier: row.qualifier,
    clientId: row.client_id,
    requestId: row.request_id,
    service: row.service,
    function: row.function,
    source: row.source as InvocationSource,
    topic: row.topic ?? undefined,
    state: row.state as InvocationState,
    attempts: row.attempts,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    startedAt: row.started_at ?? undefined,
    finishedAt: row.finished_at ?? undefined,
    nextAttemptAt: row.next_attempt_at ?? undefined,
    durationMs: row.duration_ms ?? undefined,
    eventBytes: row.event_bytes,
    result: row.result ?? undefined,
    resultBinary: row.result_binary === 1,
    error: row.error === null ? undefined : (JSON.parse(row.error) as WireError),
    logTail: row.log_tail === null ? [] : (JSON.parse(row.log_tail) as string[]),
    destinationPending: row.destination_pending ?? undefined,
    ...(row.traceparent === null ? {} : { trace: row.tracestate === null ? { traceparent: row.traceparent } : { traceparent: row.traceparent, tracestate: row.tracestate } }),
  };
}
