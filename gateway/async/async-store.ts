/**
 * The durable store of Async invocations: one SQLite file (`async.db`) in the gateway's data
 * directory, in WAL mode, written through better-sqlite3 (docs/protocol.md §10.1).
 *
 * Group commit: writes queue up and are committed together, in one transaction, on the next
 * turn of the event loop (or at once when `batchSize` are waiting). With `synchronous = FULL` a
 * commit is one fsync of the WAL: measured on this 2-core box, one fsync per record caps intake
 * near 8k records/s, while one per 64 records passes 300k/s. Callers of `insert` are answered only
 * after the commit that holds their record, so "accepted" always means "on disk".
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
import { ServiceUnavailableError, type WireError } from '../../src/errors.js';
import {
  FINISHED_STATES,
  type InvocationRecord,
  type InvocationSource,
  type InvocationState,
  type NewInvocation,
} from './invocation-record.js';

export type StoreSync = 'full' | 'normal' | 'off';
export const STORE_SYNC_MODES: readonly StoreSync[] = ['full', 'normal', 'off'];

export interface AsyncStoreOptions {
  /** The gateway's data directory; created if missing. */
  dir: string;
  /** @default 'full' */
  sync?: StoreSync;
  /**
   * Writes waiting past which a commit happens at once instead of on the next tick. 512: past a
   * few hundred records per commit the fsync is no longer what costs, the inserts are.
   * @default 512
   */
  batchSize?: number;
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

const SCHEMA_VERSION = '1';
/** State changes (running, finished, retrying) are committed at most this long after they happen. */
const LAZY_COMMIT_MS = 20;
const FILE_NAME = 'async.db';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS invocations (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  client_id TEXT NOT NULL,
  request_id TEXT NOT NULL,
  service TEXT NOT NULL,
  function TEXT NOT NULL,
  source TEXT NOT NULL,
  topic TEXT,
  state TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  started_at INTEGER,
  finished_at INTEGER,
  next_attempt_at INTEGER,
  duration_ms INTEGER,
  event BLOB NOT NULL,
  invoker_context TEXT,
  qualifier TEXT NOT NULL,
  result BLOB,
  result_binary INTEGER NOT NULL DEFAULT 0,
  error TEXT,
  log_tail TEXT,
  destination_pending TEXT,
  UNIQUE (client_id, request_id)
);
CREATE INDEX IF NOT EXISTS invocations_state ON invocations (state);
CREATE INDEX IF NOT EXISTS invocations_function ON invocations (service, function);
`;

const RECORD_COLUMNS = `seq, client_id, request_id, service, function, source, topic, state, attempts, created_at, updated_at,
  started_at, finished_at, next_attempt_at, duration_ms, length(event) AS event_bytes, result, result_binary, error, log_tail,
  destination_pending`;

interface RecordRow {
  seq: number;
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
}

interface Waiter {
  resolve: () => void;
  reject: (error: Error) => void;
}

export class AsyncStore {
  readonly gatewayId: string;
  readonly path: string;
  readonly #db: Database.Database;
  readonly #batchSize: number;
  #ops: (() => void)[] = [];
  #waiters: Waiter[] = [];
  #scheduled: { kind: 'immediate'; handle: NodeJS.Immediate } | { kind: 'timeout'; handle: NodeJS.Timeout } | undefined;
  #closed = false;
  readonly #stmts: ReturnType<typeof prepare>;

  private constructor(db: Database.Database, path: string, batchSize: number) {
    this.#db = db;
    this.path = path;
    this.#batchSize = batchSize;
    this.#stmts = prepare(db);
    const id = db.prepare<[], { value: string }>("SELECT value FROM meta WHERE key = 'gateway_id'").get();
    if (id === undefined) {
      this.gatewayId = nanoid(12).replace(/[^A-Za-z0-9]/g, 'x');
      db.prepare("INSERT INTO meta (key, value) VALUES ('gateway_id', ?)").run(this.gatewayId);
    } else {
      this.gatewayId = id.value;
    }
  }

  /**
   * Open (or create) the store in `dir`. Throws ServiceUnavailableError naming the directory and
   * what is wrong with it: a gateway never falls back to memory, since that would accept calls
   * it cannot keep.
   */
  static open(options: AsyncStoreOptions): AsyncStore {
    const { dir } = options;
    const file = join(dir, FILE_NAME);
    const fail = (what: string, cause: unknown): ServiceUnavailableError =>
      new ServiceUnavailableError(`data directory ${dir}: ${what}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    try {
      mkdirSync(dir, { recursive: true });
      accessSync(dir, constants.W_OK | constants.R_OK | constants.X_OK);
    } catch (error) {
      throw fail('cannot create or write it (choose another with --data)', error);
    }
    let db: Database.Database;
    try {
      db = new Database(file);
    } catch (error) {
      throw fail(`cannot open ${FILE_NAME}`, error);
    }
    try {
      db.pragma('journal_mode = WAL');
      db.pragma(`synchronous = ${(options.sync ?? 'full').toUpperCase()}`);
      // Another process holding the write lock (a second gateway on the same directory, the CLI
      // reading) waits instead of failing at once.
      db.pragma('busy_timeout = 5000');
      const check = db.pragma('quick_check', { simple: true });
      if (check !== 'ok') throw new Error(`integrity check: ${String(check)}`);
      db.exec(SCHEMA);
      const version = db.prepare<[], { value: string }>("SELECT value FROM meta WHERE key = 'schema_version'").get();
      if (version === undefined) db.prepare("INSERT INTO meta (key, value) VALUES ('schema_version', ?)").run(SCHEMA_VERSION);
      else if (version.value !== SCHEMA_VERSION) throw new Error(`schema version ${version.value}; this gateway reads ${SCHEMA_VERSION}`);
      return new AsyncStore(db, file, options.batchSize ?? 512);
    } catch (error) {
      db.close();
      throw fail(`${FILE_NAME} is not a usable edgefc store (corrupt, or not writable); move it away to start afresh`, error);
    }
  }

  /**
   * Store a new call. Resolves once committed, with `duplicate: true` (and the existing seq)
   * when the caller's request ID was already stored: that call is not stored twice (§10.2).
   */
  insert(call: NewInvocation): Promise<{ seq: number; duplicate: boolean }> {
    let outcome: { seq: number; duplicate: boolean } | undefined;
    const done = this.#write(true, () => {
      const seq = this.insertNow(call);
      outcome = seq !== undefined ? { seq, duplicate: false } : { seq: this.#stmts.seqOf.get(call.clientId, call.requestId)?.seq ?? 0, duplicate: true };
    });
    return done.then(() => outcome ?? { seq: 0, duplicate: true });
  }

  markRunning(seq: number, attempts: number, startedAt: number): Promise<void> {
    return this.#write(false, () => this.#stmts.running.run(attempts, startedAt, startedAt, seq));
  }

  markRetrying(seq: number, nextAttemptAt: number, now: number, durationMs: number | undefined, error: WireError, logTail: string[]): Promise<void> {
    return this.#write(false, () => this.#stmts.retrying.run(nextAttemptAt, now, durationMs ?? null, JSON.stringify(error), JSON.stringify(logTail), seq));
  }

  /** A call reaches a final state; `also` runs in the same transaction (an fc:// destination's insert). */
  markFinished(seq: number, fields: FinishFields, also?: () => void): Promise<void> {
    return this.#write(false, () => {
      this.#stmts.finished.run(
        fields.state,
        fields.finishedAt,
        fields.finishedAt,
        fields.durationMs ?? null,
        fields.result ?? null,
        fields.resultBinary ? 1 : 0,
        fields.error === undefined ? null : JSON.stringify(fields.error),
        JSON.stringify(fields.logTail),
        fields.destinationPending ?? null,
        seq,
      );
      also?.();
    });
  }

  /** Back to enqueued (a call that was running when the gateway stopped). */
  requeue(seq: number, now: number): Promise<void> {
    return this.#write(false, () => this.#stmts.requeue.run(now, now, seq));
  }

  clearDestination(seq: number): Promise<void> {
    return this.#write(false, () => this.#stmts.clearDestination.run(seq));
  }

  /** Insert inside the current transaction (for `markFinished`'s `also`): returns the new seq, or undefined if it existed. */
  insertNow(call: NewInvocation): number | undefined {
    const info = this.#stmts.insert.run(
      call.clientId, call.requestId, call.service, call.function, call.source, call.topic ?? null,
      call.createdAt, call.createdAt, call.event,
      call.invokerContext === undefined ? null : JSON.stringify(call.invokerContext), call.qualifier,
    );
    return info.changes === 1 ? Number(info.lastInsertRowid) : undefined;
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

  load(seq: number): RunnableCall | undefined {
    const row = this.#stmts.get.get(seq);
    const extra = this.#stmts.payload.get(seq);
    if (row === undefined || extra === undefined) return undefined;
    return {
      record: toRecord(row),
      event: extra.event,
      invokerContext: extra.invoker_context === null ? undefined : (JSON.parse(extra.invoker_context) as Record<string, unknown>),
      qualifier: extra.qualifier,
    };
  }

  /** The event bytes of a call (destination messages carry them, §10.5). */
  event(seq: number): Buffer | undefined {
    return this.#stmts.payload.get(seq)?.event;
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
    let deleted = 0;
    return this.#write(false, () => {
      deleted += this.#stmts.pruneAge.run(now - maxAgeMs).changes;
      deleted += this.#stmts.pruneCount.run(maxRecords).changes;
    }).then(() => deleted);
  }

  /** Commit whatever is waiting, now. */
  flush(): void {
    this.#cancelScheduled();
    const ops = this.#ops;
    const waiters = this.#waiters;
    if (ops.length === 0) return;
    this.#ops = [];
    this.#waiters = [];
    try {
      this.#db.transaction(() => {
        for (const op of ops) op();
      })();
    } catch (error) {
      const failure = new ServiceUnavailableError(
        `could not write the async store (${this.path}): ${error instanceof Error ? error.message : String(error)}`,
        { cause: error },
      );
      for (const waiter of waiters) waiter.reject(failure);
      return;
    }
    for (const waiter of waiters) waiter.resolve();
  }

  close(): void {
    if (this.#closed) return;
    this.flush();
    this.#closed = true;
    this.#db.close();
  }

  /**
   * Queue a write. `urgent` (a new call: someone waits for "accepted") commits on the next tick;
   * state changes wait up to LAZY_COMMIT_MS or ride along with the next urgent commit. A state
   * change lost to a crash only means a call runs again (at least once), and with one fsync per
   * change (~1.2 ms with synchronous = FULL on this box's disk) the event loop would spend its
   * time in fsync when calls finish one at a time.
   */
  #write(urgent: boolean, op: () => void): Promise<void> {
    if (this.#closed) return Promise.reject(new ServiceUnavailableError('the async store is closed'));
    return new Promise<void>((resolve, reject) => {
      this.#ops.push(op);
      this.#waiters.push({ resolve, reject });
      if (this.#ops.length >= this.#batchSize) {
        this.flush();
      } else if (urgent && this.#scheduled?.kind !== 'immediate') {
        this.#cancelScheduled();
        const handle = setImmediate(() => this.#flushScheduled());
        this.#scheduled = { kind: 'immediate', handle };
      } else if (this.#scheduled === undefined) {
        const handle = setTimeout(() => this.#flushScheduled(), LAZY_COMMIT_MS);
        this.#scheduled = { kind: 'timeout', handle };
      }
    });
  }

  #flushScheduled(): void {
    this.#scheduled = undefined;
    this.flush();
  }

  #cancelScheduled(): void {
    if (this.#scheduled?.kind === 'immediate') clearImmediate(this.#scheduled.handle);
    else if (this.#scheduled?.kind === 'timeout') clearTimeout(this.#scheduled.handle);
    this.#scheduled = undefined;
  }
}

function prepare(db: Database.Database) {
  const finished = FINISHED_STATES.map((s) => `'${s}'`).join(', ');
  return {
    insert: db.prepare<[string, string, string, string, string, string | null, number, number, Buffer, string | null, string]>(
      `INSERT OR IGNORE INTO invocations (client_id, request_id, service, function, source, topic, state, created_at, updated_at, event, invoker_context, qualifier)
       VALUES (?, ?, ?, ?, ?, ?, 'enqueued', ?, ?, ?, ?, ?)`,
    ),
    seqOf: db.prepare<[string, string], { seq: number }>('SELECT seq FROM invocations WHERE client_id = ? AND request_id = ?'),
    find: db.prepare<[string, string], RecordRow>(`SELECT ${RECORD_COLUMNS} FROM invocations WHERE client_id = ? AND request_id = ?`),
    findById: db.prepare<[string], RecordRow>(`SELECT ${RECORD_COLUMNS} FROM invocations WHERE request_id = ? ORDER BY seq DESC`),
    get: db.prepare<[number], RecordRow>(`SELECT ${RECORD_COLUMNS} FROM invocations WHERE seq = ?`),
    payload: db.prepare<[number], { event: Buffer; invoker_context: string | null; qualifier: string }>(
      'SELECT event, invoker_context, qualifier FROM invocations WHERE seq = ?',
    ),
    running: db.prepare<[number, number, number, number]>(
      "UPDATE invocations SET state = 'running', attempts = ?, started_at = ?, updated_at = ?, next_attempt_at = NULL WHERE seq = ?",
    ),
    retrying: db.prepare<[number, number, number | null, string, string, number]>(
      "UPDATE invocations SET state = 'retrying', next_attempt_at = ?, updated_at = ?, duration_ms = ?, error = ?, log_tail = ? WHERE seq = ?",
    ),
    finished: db.prepare<[string, number, number, number | null, Buffer | null, number, string | null, string, string | null, number]>(
      `UPDATE invocations SET state = ?, finished_at = ?, updated_at = ?, duration_ms = ?, result = ?, result_binary = ?, error = ?,
       log_tail = ?, destination_pending = ?, next_attempt_at = NULL WHERE seq = ?`,
    ),
    requeue: db.prepare<[number, number, number]>(
      "UPDATE invocations SET state = 'retrying', next_attempt_at = ?, updated_at = ? WHERE seq = ?",
    ),
    clearDestination: db.prepare<[number]>('UPDATE invocations SET destination_pending = NULL WHERE seq = ?'),
    unfinished: db.prepare<[], Pick<RecordRow, 'seq' | 'service' | 'function' | 'state' | 'attempts' | 'next_attempt_at' | 'created_at'>>(
      `SELECT seq, service, function, state, attempts, next_attempt_at, created_at FROM invocations WHERE state NOT IN (${finished}) ORDER BY seq`,
    ),
    pendingDestinations: db.prepare<[], RecordRow>(`SELECT ${RECORD_COLUMNS} FROM invocations WHERE destination_pending IS NOT NULL ORDER BY seq`),
    pruneAge: db.prepare<[number]>(
      `DELETE FROM invocations WHERE state IN (${finished}) AND destination_pending IS NULL AND finished_at < ?`,
    ),
    pruneCount: db.prepare<[number]>(
      `DELETE FROM invocations WHERE seq IN (SELECT seq FROM invocations WHERE state IN (${finished}) AND destination_pending IS NULL
       ORDER BY seq DESC LIMIT -1 OFFSET ?)`,
    ),
  };
}

function toRecord(row: RecordRow): InvocationRecord {
  return {
    seq: row.seq,
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
  };
}
