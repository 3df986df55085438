/**
 * Group commit through the writer thread (./store-writer-worker.ts): writes queue up here and go
 * to the thread together, one batch (one transaction, one fsync) at a time. Each caller's promise
 * settles once the batch holding its write is committed, so "accepted" always means "on disk".
 *
 * When a batch goes:
 * - urgent writes (a new call: someone waits for "accepted") go on the next turn of the event
 *   loop, with everything else that came in during this one;
 * - prompt writes (a run's `running` state with its attempt number, which must be on disk before
 *   the handler starts, so a run after a crash sees a higher retryCount) go on the next turn
 *   too, but do not start the thread by themselves;
 * - other writes (state changes) wait up to LAZY_COMMIT_MS, or ride along with the next urgent
 *   batch: a state change lost to a crash only means a call runs again (at least once);
 * - while a batch is being written, nothing else goes: what comes in meanwhile is the next batch,
 *   sent as soon as the thread answers. The slower the disk, the larger the batches, so intake
 *   keeps up with an fsync of 1-6 ms without an fsync per call.
 *
 * The thread starts with the first new call. Until then (a gateway never called, or one that only
 * resumes, runs and prunes what it had) batches are committed on the event loop, on the gateway's
 * own connection, with the same code: a worker thread costs ~10 MB of RSS (measured: idle RSS
 * 72-75 → 80-86 MB with the sample template), which an idle gateway need not carry (BENCHMARKS.md,
 * scenario 5's goal). From then on only the thread writes.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type Database from 'better-sqlite3';
import { ServiceUnavailableError } from 'edgefc/errors';
import { PACKAGE_ROOT } from '../package-root.js';
import type { StoreSync } from './store-schema.js';
import type { WriterData, WriterMessage } from './store-writer-worker.js';
import { createWriteApplier, WriteBatchBuilder, type BatchOutcome, type WriteApplier, type WriteBatch } from './store-writes.js';

/** State changes are committed at most this long after they happen (unless a batch is being written then). */
const LAZY_COMMIT_MS = 20;

const here = fileURLToPath(import.meta.url);
/**
 * A worker thread runs compiled JS, also when the gateway runs from TypeScript sources (vitest):
 * then it is the build's copy, which `npm run build` (the `pretest` script) produces.
 */
const WORKER_PATH = here.endsWith('.js')
  ? join(dirname(here), 'store-writer-worker.js')
  : join(PACKAGE_ROOT, 'dist', 'gateway', 'async', 'store-writer-worker.js');

/**
 * When a write goes: `accept` (a new call, someone waits for "accepted") and `prompt` (a run waits
 * for it) on the next turn of the event loop, `lazy` within LAZY_COMMIT_MS. Only `accept` starts
 * the writer thread.
 */
export type WriteUrgency = 'accept' | 'prompt' | 'lazy';

/** A batch and who waits for it: `resolves[i]` and `rejects[i]` settle the i-th write. */
interface Pending {
  builder: WriteBatchBuilder;
  resolves: ((result: number) => void)[];
  rejects: ((error: Error) => void)[];
  /** It holds a new call (someone waits for "accepted"). */
  urgent: boolean;
}

const emptyBatch = (): Pending => ({ builder: new WriteBatchBuilder(), resolves: [], rejects: [], urgent: false });

export class StoreWriter {
  readonly #path: string;
  readonly #sync: StoreSync;
  /** Commits on the gateway's connection, until the thread starts. */
  readonly #here: WriteApplier;
  #worker: Worker | undefined;
  #next: Pending = emptyBatch();
  /** The batch the thread is writing. */
  #writing: Pending | undefined;
  /** An urgent write waits, or a lazy one waited its time: the next batch goes as soon as it can. */
  #due = false;
  #immediate: NodeJS.Immediate | undefined;
  #timer: NodeJS.Timeout | undefined;
  /** Why the thread cannot write any more; every write fails with it. */
  #broken: Error | undefined;
  #closing: Promise<void> | undefined;
  /** close() waits for this: called once nothing is being written or waits. */
  #onDrained: (() => void) | undefined;
  /** The thread was told to stop; an exit before that is a failure. */
  #stopped = false;
  #exited: Promise<void> = Promise.resolve();

  /** `db`: the gateway's connection to `file`, for the batches before the thread starts. */
  constructor(db: Database.Database, file: string, sync: StoreSync) {
    this.#path = file;
    this.#sync = sync;
    this.#here = createWriteApplier(db);
  }

  /**
   * Queue one write: `add` adds exactly one to the batch (a WriteBatchBuilder method). Resolves
   * with its result (store-writes.ts, Op) once committed.
   */
  write(urgency: WriteUrgency, add: (batch: WriteBatchBuilder) => void): Promise<number> {
    if (this.#broken !== undefined) return Promise.reject(this.#broken);
    if (this.#closing !== undefined) return Promise.reject(new ServiceUnavailableError('the async store is closed'));
    return new Promise<number>((resolve, reject) => {
      const next = this.#next;
      add(next.builder);
      next.resolves.push(resolve);
      next.rejects.push(reject);
      if (urgency !== 'lazy') this.#due = true;
      if (urgency === 'accept') next.urgent = true;
      this.#schedule();
    });
  }

  /** Commit what waits, then stop the thread. Later writes fail. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#due = true;
      this.#send();
      if (this.#broken === undefined && (this.#writing !== undefined || this.#next.resolves.length > 0)) {
        await new Promise<void>((resolve) => {
          this.#onDrained = resolve;
        });
      }
      this.#clearSchedule();
      this.#stopped = true;
      this.#worker?.postMessage(null satisfies WriterMessage);
      await this.#exited;
    })();
    return this.#closing;
  }

  #schedule(): void {
    if (this.#writing !== undefined) return; // #written sends what waits
    if (this.#due) {
      if (this.#timer !== undefined) clearTimeout(this.#timer);
      this.#timer = undefined;
      this.#immediate ??= setImmediate(() => {
        this.#immediate = undefined;
        this.#send();
      });
    } else {
      this.#timer ??= setTimeout(() => {
        this.#timer = undefined;
        this.#due = true;
        this.#send();
      }, LAZY_COMMIT_MS);
    }
  }

  #clearSchedule(): void {
    if (this.#immediate !== undefined) clearImmediate(this.#immediate);
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#immediate = undefined;
    this.#timer = undefined;
  }

  #send(): void {
    const batch = this.#next;
    if (this.#writing !== undefined || !this.#due || batch.resolves.length === 0) return;
    this.#clearSchedule();
    this.#due = false;
    this.#next = emptyBatch();
    const message = batch.builder.build();
    if (this.#worker === undefined && !batch.urgent) {
      this.#settle(batch, applyHere(this.#here, message));
      return;
    }
    this.#writing = batch;
    this.#thread().postMessage(message satisfies WriterMessage, [message.block]);
  }

  /** The writer thread, started on first use. */
  #thread(): Worker {
    if (this.#worker !== undefined) return this.#worker;
    const data: WriterData = { file: this.#path, sync: this.#sync };
    const worker = new Worker(WORKER_PATH, { workerData: data });
    worker.on('message', (outcome: BatchOutcome) => this.#written(outcome));
    worker.on('error', (error) => this.#break(`the writer thread failed: ${error.message}`, error));
    this.#exited = new Promise((resolve) => {
      worker.once('exit', (code) => {
        if (!this.#stopped) this.#break(`the writer thread exited (${code})`);
        resolve();
      });
    });
    this.#worker = worker;
    return worker;
  }

  #written(outcome: BatchOutcome): void {
    const batch = this.#writing;
    if (batch === undefined) return;
    this.#writing = undefined;
    this.#settle(batch, outcome);
    if (this.#next.resolves.length > 0) {
      this.#send(); // what came in while this batch was written, if its time has come
      if (this.#writing === undefined) this.#schedule();
    } else {
      this.#onDrained?.();
    }
  }

  #settle(batch: Pending, outcome: BatchOutcome): void {
    if ('error' in outcome) {
      const failure = new ServiceUnavailableError(`could not write the async store (${this.#path}): ${outcome.error}`);
      for (const reject of batch.rejects) reject(failure);
    } else {
      batch.resolves.forEach((resolve, index) => resolve(outcome.results[index] ?? 0));
    }
  }

  #break(reason: string, cause?: unknown): void {
    if (this.#broken !== undefined) return;
    this.#broken = new ServiceUnavailableError(`could not write the async store (${this.#path}): ${reason}`, { cause });
    this.#clearSchedule();
    for (const batch of [this.#writing, this.#next]) for (const reject of batch?.rejects ?? []) reject(this.#broken);
    this.#writing = undefined;
    this.#next = emptyBatch();
    this.#onDrained?.();
  }
}

/** Commit a batch on this thread (before the writer thread starts). */
function applyHere(applier: WriteApplier, batch: WriteBatch): BatchOutcome {
  try {
    return { results: applier.apply(batch) };
  } catch (error) {
    return { error: error instanceof Error ? error.message : String(error) };
  }
}
