/**
 * Store schema 2 (docs/protocol.md §10.3): a store written by a gateway before trace context
 * (schema version 1, no trace columns) is migrated when opened; its calls keep everything they
 * had and have no trace; new calls keep theirs.
 */
import Database from 'better-sqlite3';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AsyncStore } from '../../gateway/async/async-store.js';
import { toView } from '../../gateway/async/invocation-record.js';
import { SCHEMA, SCHEMA_VERSION, STORE_FILE_NAME } from '../../gateway/async/store-schema.js';

const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

/** Schema 1, as the gateway before trace context created it: today's, less the two trace columns. */
function writeVersion1Store(dir: string): void {
  const v1 = SCHEMA.replace(/\n\s*traceparent TEXT,\n\s*tracestate TEXT,/, '');
  expect(v1).not.toContain('traceparent');
  const db = new Database(join(dir, STORE_FILE_NAME));
  db.exec(v1);
  db.prepare("INSERT INTO meta (key, value) VALUES ('schema_version', '1')").run();
  db.prepare(
    `INSERT INTO invocations (client_id, request_id, service, function, source, state, created_at, updated_at, event, qualifier)
     VALUES ('dev1', 'old-1', 'S', 'F', 'invoke', 'enqueued', 1000, 1000, ?, 'LATEST')`,
  ).run(Buffer.from('old event'));
  db.close();
}

describe('Async store schema migration', () => {
  let dir: string;
  let store: AsyncStore | undefined;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'edgefc-migrate-'));
  });

  afterEach(async () => {
    await store?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('a version 1 store opens, keeps its calls, and records trace context from then on', async () => {
    writeVersion1Store(dir);
    store = AsyncStore.open({ dir, sync: 'normal' });
    const old = store.find('dev1', 'old-1')!;
    expect(old.state).toBe('enqueued');
    expect(old.trace).toBeUndefined();
    expect(store.load(old.seq)?.event.toString()).toBe('old event');
    expect(toView(old, true)).not.toHaveProperty('traceparent');

    const seq = await store.insert({
      clientId: 'dev1', requestId: 'new-1', service: 'S', function: 'F', source: 'invoke', topic: undefined,
      event: Buffer.from('e'), invokerContext: undefined, qualifier: 'LATEST', createdAt: 2000,
      trace: { traceparent: TRACEPARENT, tracestate: 'a=b' },
    });
    const record = store.get(seq!)!;
    expect(record.trace).toEqual({ traceparent: TRACEPARENT, tracestate: 'a=b' });
    expect(toView(record, false)).toMatchObject({ traceparent: TRACEPARENT, tracestate: 'a=b' });
    await store.close();
    store = undefined;

    const db = new Database(join(dir, STORE_FILE_NAME), { readonly: true });
    expect(db.prepare("SELECT value FROM meta WHERE key = 'schema_version'").pluck().get()).toBe(SCHEMA_VERSION);
    db.close();
    // Opening it again is a no-op.
    store = AsyncStore.open({ dir, sync: 'normal' });
    expect(store.get(seq!)?.trace?.traceparent).toBe(TRACEPARENT);
  });

  it('a store of a later version than this gateway reads is refused, not rewritten', () => {
    const db = new Database(join(dir, STORE_FILE_NAME));
    db.exec(SCHEMA);
    db.prepare("INSERT INTO meta (key, value) VALUES ('schema_version', '99')").run();
    db.close();
    expect(() => AsyncStore.open({ dir, sync: 'normal' })).toThrow(/schema version 99/);
  });
});
