/**
 * The Async store's writer thread (./store-writer.ts starts it): its own connection to the
 * store, on which it commits each batch it is sent, in order, and answers with the results.
 *
 * Why a thread: a commit is the inserts plus, with `--store-sync full`, an fsync of the WAL
 * (1-6 ms on the 2-core bench box). On the gateway's event loop that blocked the broker and every
 * call for 28-41 % of its time during an Async burst (BENCHMARKS.md, "Before/after: Async
 * intake"); here the event loop goes on with the next calls while a batch is written.
 */
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { configureConnection, type StoreSync } from './store-schema.js';
import { createWriteApplier, type BatchOutcome, type WriteBatch } from './store-writes.js';

export interface WriterData {
  file: string;
  sync: StoreSync;
}

/** The gateway sends batches, then `null` to close. */
export type WriterMessage = WriteBatch | null;

const port = parentPort;
if (port === null) throw new Error('store-writer-worker runs as a worker thread');
const { file, sync } = workerData as WriterData;
// The gateway's connection made the file and its tables (AsyncStore.open) before starting this.
const db = new Database(file);
configureConnection(db, sync);
const applier = createWriteApplier(db);

port.on('message', (message: WriterMessage) => {
  if (message === null) {
    db.close();
    port.close();
    return;
  }
  let outcome: BatchOutcome;
  try {
    outcome = { results: applier.apply(message) };
  } catch (error) {
    outcome = { error: error instanceof Error ? error.message : String(error) };
  }
  port.postMessage(outcome);
});
