/**
 * Write coalescing on a function process's channel (gateway/runtime/node/child/ipc-batch.ts): a lone message goes out at once;
 * messages that follow it in the same event-loop turn share one write, in order.
 */
import { describe, expect, test } from 'vitest';
import { IpcBatcher } from '../../gateway/runtime/node/child/ipc-batch.js';
import type { SendCallback } from '../../gateway/runtime/node/child/ipc-batch.js';

function recorder(): { writes: unknown[]; callbacks: SendCallback[]; batcher: IpcBatcher<string> } {
  const writes: unknown[] = [];
  const callbacks: SendCallback[] = [];
  const batcher = new IpcBatcher<string>((payload, callback) => {
    writes.push(payload);
    callbacks.push(callback);
  });
  return { writes, callbacks, batcher };
}

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('IpcBatcher', () => {
  test('a lone message is written at once, as itself', () => {
    const { writes, batcher } = recorder();
    batcher.send('a');
    expect(writes).toEqual(['a']);
  });

  test('messages after the first in a turn go out together at the end of the turn, in order', async () => {
    const { writes, batcher } = recorder();
    batcher.send('a');
    batcher.send('b');
    batcher.send('c');
    expect(writes).toEqual(['a']);
    await nextTurn();
    expect(writes).toEqual(['a', ['b', 'c']]);
    // A new turn: the first message is immediate again.
    batcher.send('d');
    expect(writes).toEqual(['a', ['b', 'c'], 'd']);
    batcher.send('e');
    await nextTurn();
    expect(writes).toEqual(['a', ['b', 'c'], 'd', 'e']);
  });

  test('every callback hears how its write ended', async () => {
    const { callbacks, batcher } = recorder();
    const heard: [string, Error | null][] = [];
    batcher.send('a', (err) => heard.push(['a', err]));
    batcher.send('b', (err) => heard.push(['b', err]));
    batcher.send('c', (err) => heard.push(['c', err]));
    await nextTurn();
    const failure = new Error('EPIPE');
    callbacks[0]!(null);
    callbacks[1]!(failure);
    expect(heard).toEqual([
      ['a', null],
      ['b', failure],
      ['c', failure],
    ]);
  });

  test('flush() sends what waits now', () => {
    const { writes, batcher } = recorder();
    batcher.send('a');
    batcher.send('b');
    batcher.flush();
    expect(writes).toEqual(['a', 'b']);
  });

  test('a batch goes out early at 256 messages, so a burst never becomes one huge message', async () => {
    const { writes, batcher } = recorder();
    for (let i = 0; i < 600; i++) batcher.send(String(i));
    await nextTurn();
    const sizes = writes.map((write) => (Array.isArray(write) ? write.length : 1));
    expect(sizes).toEqual([1, 256, 256, 87]);
    expect(writes.flat()).toEqual(Array.from({ length: 600 }, (_, i) => String(i)));
  });
});
