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
export const SCHEMA_VERSION = '1';

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
  UNIQUE (client_id, request_id)
);
CREATE INDEX IF NOT EXISTS invocations_state ON invocations (state);
CREATE INDEX IF NOT EXISTS invocations_function ON invocations (service, function);
`;

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
