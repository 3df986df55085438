import { describe, expect, it, vi } from 'vitest';
import { PendingRequests } from '../../src/client/pending-requests.js';
import { ClientClosedError, RequestTimeoutError } from '../../src/errors.js';
import { callbackify } from '../../src/client/callbackify.js';

const activeTimers = (): number => process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length;

/** An entry with a real timer and a real abort listener, so the test sees both released. */
function entry() {
  const controller = new AbortController();
  let aborts = 0;
  const onAbort = (): void => {
    aborts += 1;
  };
  controller.signal.addEventListener('abort', onAbort);
  const timer = setTimeout(() => undefined, 60_000);
  return {
    resolve: vi.fn(),
    reject: vi.fn(),
    timer,
    signal: controller.signal,
    onAbort,
    /** After settling: the abort listener was removed (the test counts the timers). */
    released: (): boolean => {
      controller.abort(); // dispatches synchronously to any listener still attached
      return aborts === 0;
    },
  };
}

describe('PendingRequests', () => {
  it('dispatches a reply to its entry once and cleans up', () => {
    const table = new PendingRequests();
    const timers = activeTimers();
    const e = entry();
    expect(activeTimers()).toBe(timers + 1);
    table.add('a', e);
    const reply = { requestId: 'a', status: 'accepted' } as const;
    expect(table.dispatch(reply)).toBe(true);
    expect(table.dispatch(reply)).toBe(false); // §4.3: a duplicate is dropped
    expect(e.resolve).toHaveBeenCalledExactlyOnceWith(reply);
    expect(e.released()).toBe(true);
    expect(activeTimers()).toBe(timers);
    expect(table.size).toBe(0);
  });

  it('drops replies for unknown IDs', () => {
    const table = new PendingRequests();
    expect(table.dispatch({ requestId: 'nope', status: 'accepted' })).toBe(false);
  });

  it('cancels one entry and rejects all on close', () => {
    const table = new PendingRequests();
    const timers = activeTimers();
    const [a, b, c] = [entry(), entry(), entry()];
    table.add('a', a);
    table.add('b', b);
    table.add('c', c);
    const timeout = new RequestTimeoutError('t');
    expect(table.cancel('a', timeout)).toBe(true);
    expect(table.cancel('a', timeout)).toBe(false);
    expect(a.reject).toHaveBeenCalledExactlyOnceWith(timeout);
    expect(a.released()).toBe(true);
    expect(activeTimers()).toBe(timers + 2);
    table.rejectAll(() => new ClientClosedError());
    for (const e of [b, c]) {
      expect(e.reject).toHaveBeenCalledOnce();
      expect(e.reject.mock.calls[0]?.[0]).toMatchObject({ code: 'ClientClosed' });
      expect(e.released()).toBe(true);
    }
    expect(activeTimers()).toBe(timers);
    expect(table.size).toBe(0);
  });
});

describe('callbackify', () => {
  it('calls back with (null, value) or (error)', async () => {
    const ok = await new Promise<unknown[]>((resolve) => {
      callbackify(Promise.resolve(5), (...args) => resolve(args));
    });
    expect(ok).toEqual([null, 5]);
    const failed = await new Promise<unknown[]>((resolve) => {
      callbackify(Promise.reject(new ClientClosedError()), (...args) => resolve(args));
    });
    expect(failed[0]).toMatchObject({ code: 'ClientClosed' });
  });
});
