import { describe, expect, it, vi } from 'vitest';
import { PendingRequests } from '../../src/client/pending-requests.js';
import { ClientClosedError, RequestTimeoutError } from '../../src/errors.js';
import { callbackify } from '../../src/client/callbackify.js';

function entry() {
  return { resolve: vi.fn(), reject: vi.fn(), cleanup: vi.fn() };
}

describe('PendingRequests', () => {
  it('dispatches a reply to its entry once and cleans up', () => {
    const table = new PendingRequests();
    const e = entry();
    table.add('a', e);
    const reply = { requestId: 'a', status: 'accepted' } as const;
    expect(table.dispatch(reply)).toBe(true);
    expect(table.dispatch(reply)).toBe(false); // §4.3: a duplicate is dropped
    expect(e.resolve).toHaveBeenCalledExactlyOnceWith(reply);
    expect(e.cleanup).toHaveBeenCalledOnce();
    expect(table.size).toBe(0);
  });

  it('drops replies for unknown IDs', () => {
    const table = new PendingRequests();
    expect(table.dispatch({ requestId: 'nope', status: 'accepted' })).toBe(false);
  });

  it('cancels one entry and rejects all on close', () => {
    const table = new PendingRequests();
    const [a, b, c] = [entry(), entry(), entry()];
    table.add('a', a);
    table.add('b', b);
    table.add('c', c);
    const timeout = new RequestTimeoutError('t');
    expect(table.cancel('a', timeout)).toBe(true);
    expect(table.cancel('a', timeout)).toBe(false);
    expect(a.reject).toHaveBeenCalledExactlyOnceWith(timeout);
    table.rejectAll(() => new ClientClosedError());
    for (const e of [b, c]) {
      expect(e.reject).toHaveBeenCalledOnce();
      expect(e.reject.mock.calls[0]?.[0]).toMatchObject({ code: 'ClientClosed' });
      expect(e.cleanup).toHaveBeenCalledOnce();
    }
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
