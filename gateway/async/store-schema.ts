/**
 * The Async store's file, tables and connection settings (docs/protocol.md §10.1): shared by the
 * gateway's connection, which reads (./async-store.ts), and the writer thread's, which writes
 * (./store-writer-worker.ts). Both are connections to one SQLite file in WAL mode, where readers
 * see the last commit and never wait for the writer.
 */
import type Database from 'better-sqlite3';

export type StoreSync = 'full' | 'normal' | 'off';
export const STORE_SYNC_MODES: readonly StoreSync[] = ['full', 'normal', 'off'];

export const STORE_FILE_NAME = 'async.db';
/** 2: `traceparent`, `tracestate` (docs/protocol.md §10.3); a version 1 store is migrated (migrateSchema). */
export const SCHEMA_VERSION = '2';

export const SCHEMA = `
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
  traceparent TEXT,
  tracestate TEXT,
  UNIQUE (client_id, request_id)
);
CREATE INDEX IF NOT EXISTS invocations_state ON invocations (state);
CREATE INDEX IF NOT EXISTS invocations_function ON invocations (service, function);
`;

/**
 * Bring a store written by an older gateway to SCHEMA_VERSION, in one transaction. Returns the
 * version found. Version 1 lacks the trace columns: its calls have no trace context.
 */
export function migrateSchema(db: Database.Database): string | undefined {
  const row = db.prepare<[], { value: string }>("SELECT value FROM meta WHERE key = 'schema_version'").get();
  if (row === undefined) {
    db.prepare("INSERT INTO meta (key, value) VALUES ('schema_version', ?)").run(SCHEMA_VERSION);
    return undefined;
  }
  if (row.value === '1') {
    db.transaction(() => {
      const columns = new Set(db.prepare<[], { name: string }>('PRAGMA table_info(invocations)').all().map((c) => c.name));
      if (!columns.has('traceparent')) db.exec('ALTER TABLE invocations ADD COLUMN traceparent TEXT');
      if (!columns.has('tracestate')) db.exec('ALTER TABLE invocations ADD COLUMN tracestate TEXT');
      db.prepare("UPDATE meta SET value = ? WHERE key = 'schema_version'").run(SCHEMA_VERSION);
    })();
    return row.value;
  }
  if (row.value !== SCHEMA_VERSION) throw new Error(`schema version ${row.value}; this gateway reads ${SCHEMA_VERSION}`);
  return row.value;
}

/**
 * Journal and sync settings, the same on every connection: the last one to close checkpoints the
 * WAL into the database file, and does so as carefully as `sync` asks.
 */
export function configureConnection(db: Database.Database, sync: StoreSync): void {
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${sync.toUpperCase()}`);
  // Another process holding the write lock (a second gateway on the same directory, the CLI
  // reading) waits instead of failing at once.
  db.pragma('busy_timeout = 5000');
}
