/**
 * The Async store on its own (gateway/async/async-store.ts): writes go through the writer thread
 * in group commits, reads see them once their promise has settled (§10.1), dedupe by client and
 * request ID (§10.2), an fc:// destination is stored with its source's outcome (§10.5), and a
 * call kept in memory for its first run (fresh-calls.ts) is what a read would give.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/errors.js';
import { AsyncStore, type FinishFields } from '../../gateway/async/async-store.js';
import { FreshCalls } from '../../gateway/async/fresh-calls.js';
import type { NewInvocation } from '../../gateway/async/invocation-record.js';

function newCall(requestId: string, extra: Partial<NewInvocation> = {}): NewInvocation {
  return {
    clientId: 'dev1',
    requestId,
    service: 'S',
    function: 'F',
    source: 'invoke',
    topic: undefined,
    // A slice of a larger buffer, as an event cut from a socket read is.
    event: Buffer.from(`xx-event of ${requestId}-yy`).subarray(3, -3),
    invokerContext: undefined,
    qualifier: 'LATEST',
    createdAt: 1_000,
    ...extra,
  };
}

function finished(state: FinishFields['state'], at: number, extra: Partial<FinishFields> = {}): FinishFields {
  return { state, finishedAt: at, durationMs: 5, result: undefined, resultBinary: false, error: undefined, logTail: [], destinationPending: undefined, ...extra };
}

describe('AsyncStore', () => {
  let dir: string;
  let store: AsyncStore;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'edgefc-store-'));
    store = AsyncStore.open({ dir, sync: 'normal' });
  });

  afterEach(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('answers an insert once it is committed, and stores a request ID of a client once', async () => {
    const calls = Array.from({ length: 50 }, (_, index) => newCall(`r${index}`));
    // One turn of the event loop: one batch.
    const seqs = await Promise.all(calls.map((call) => store.insert(call)));
    expect(new Set(seqs).size).toBe(50);
    for (const [index, seq] of seqs.entries()) {
      expect(seq).toBeGreaterThan(0);
      const loaded = store.load(seq ?? 0);
      expect(loaded?.record.requestId).toBe(`r${index}`);
      expect(loaded?.event.toString()).toBe(`event of r${index}`);
      expect(loaded?.record.state).toBe('enqueued');
    }
    // §10.2: the same client and request ID again, alone or twice in one batch: not stored again.
    const again = await Promise.all([store.insert(newCall('r7')), store.insert(newCall('new')), store.insert(newCall('new'))]);
    expect(again[0]).toBeUndefined();
    expect(again[1]).toBeGreaterThan(0);
    expect(again[2]).toBeUndefined();
    expect(store.has('dev1', 'r7')).toBe(true);
    // Another client may use the same request ID.
    expect(await store.insert(newCall('r7', { clientId: 'dev2' }))).toBeGreaterThan(0);
    expect(store.findByRequestId('r7').map((record) => record.clientId)).toEqual(['dev2', 'dev1']);
  });

  it('writes state changes in order, and a finish with its fc:// destination call in one commit', async () => {
    const seq = (await store.insert(newCall('a'))) ?? 0;
    const running = store.markRunning(seq, 1, 2_000);
    const retrying = store.markRetrying(seq, 9_000, 3_000, 7, { code: ErrorCode.UnhandledInvocationError, message: 'boom' }, ['line 1']);
    await Promise.all([running, retrying]);
    expect(store.get(seq)).toMatchObject({ state: 'retrying', attempts: 1, nextAttemptAt: 9_000, durationMs: 7, logTail: ['line 1'] });
    expect(store.get(seq)?.error?.code).toBe(ErrorCode.UnhandledInvocationError);

    await store.markRunning(seq, 2, 9_000);
    const destination = newCall('dest-1', { clientId: '', source: 'destination', event: Buffer.from('{"outcome":1}') });
    const destinationSeq = await store.markFinished(seq, finished('succeeded', 9_500, { result: Buffer.from([0, 1, 2]), resultBinary: true, logTail: ['done'] }), destination);
    expect(store.get(seq)).toMatchObject({ state: 'succeeded', attempts: 2, finishedAt: 9_500, resultBinary: true, logTail: ['done'] });
    expect(store.get(seq)?.result).toEqual(Buffer.from([0, 1, 2]));
    expect(destinationSeq).toBeGreaterThan(seq);
    expect(store.load(destinationSeq ?? 0)?.event.toString()).toBe('{"outcome":1}');
    expect(store.unfinished().map((row) => row.seq)).toEqual([destinationSeq]);
  });

  it('commits a running state without waiting for the lazy timer, and gives a claimed attempt back', async () => {
    const seq = (await store.insert(newCall('claim'))) ?? 0;
    // A prompt write: its own promise settles once it is on disk, before any lazy write's 20 ms.
    await store.markRunning(seq, 1, 2_000);
    expect(store.get(seq)).toMatchObject({ state: 'running', attempts: 1 });
    // Claimed but never started (shutdown): back to waiting with the attempt count as before.
    await store.requeue(seq, 3_000, 0);
    expect(store.get(seq)).toMatchObject({ state: 'retrying', attempts: 0, nextAttemptAt: 3_000 });
    // A restart's requeue keeps the count.
    await store.markRunning(seq, 1, 4_000);
    await store.requeue(seq, 5_000);
    expect(store.get(seq)).toMatchObject({ state: 'retrying', attempts: 1 });
  });

  it('prunes finished records only, and commits what waits on close', async () => {
    const seqs = await Promise.all(['p1', 'p2', 'p3'].map((id) => store.insert(newCall(id))));
    await store.markFinished(seqs[0] ?? 0, finished('failed', 100));
    await store.markFinished(seqs[1] ?? 0, finished('succeeded', 9_500));
    expect(await store.prune(10_000, 1_000, 100)).toBe(1); // p1 finished before 9,000
    expect(store.get(seqs[0] ?? 0)).toBeUndefined();
    expect(await store.prune(10_000, 60_000, 0)).toBe(1); // keep no finished record: p2 goes, p3 is unfinished
    expect(store.get(seqs[2] ?? 0)?.state).toBe('enqueued');

    // A lazy write queued right before close is committed by it, and later writes fail.
    void store.requeue(seqs[2] ?? 0, 20_000);
    await store.close();
    await expect(store.insert(newCall('late'))).rejects.toMatchObject({ code: ErrorCode.ServiceUnavailable });
    store = AsyncStore.open({ dir, sync: 'normal' });
    expect(store.get(seqs[2] ?? 0)).toMatchObject({ state: 'retrying', nextAttemptAt: 20_000 });
    expect(existsSync(join(dir, 'async.db'))).toBe(true);
  });

  it('commits the same way before the first new call (on the event loop) and after it (on the writer thread)', async () => {
    const first = (await store.insert(newCall('before'))) ?? 0;
    await store.close();
    // A restarted gateway: state changes of what it had come before any new call.
    store = AsyncStore.open({ dir, sync: 'normal' });
    await Promise.all([store.markRunning(first, 1, 2_000), store.prune(3_000, 1_000, 100)]);
    expect(store.get(first)).toMatchObject({ state: 'running', attempts: 1 });
    const second = (await store.insert(newCall('after'))) ?? 0;
    await store.markFinished(first, finished('succeeded', 4_000));
    expect(store.get(first)?.state).toBe('succeeded');
    expect(store.unfinished().map((row) => row.seq)).toEqual([second]);
  });

  it('keeps a fresh call exactly as a read of it would give, within its bounds', async () => {
    const fresh = new FreshCalls({ maxCalls: 2, maxBytes: 1024 });
    const calls = [
      newCall('f1'),
      newCall('f2', { source: 'trigger', clientId: '', topic: 'sensors/1/temp', invokerContext: { trigger: { type: 'mqtt', name: undefined, topic: 'sensors/1/temp' } } }),
      newCall('f3'),
    ];
    const seqs = await Promise.all(calls.map((call) => store.insert(call)));
    calls.forEach((call, index) => fresh.keep(seqs[index] ?? 0, call));
    expect(fresh.size).toBe(2); // f3 past maxCalls: read when its turn comes
    for (const seq of seqs.slice(0, 2)) expect(fresh.take(seq ?? 0)).toEqual(store.load(seq ?? 0));
    expect(fresh.take(seqs[2] ?? 0)).toBeUndefined();
    expect(fresh.size).toBe(0);
    fresh.keep(99, newCall('big', { event: Buffer.alloc(2048) }));
    expect(fresh.size).toBe(0); // past maxBytes
  });
});
