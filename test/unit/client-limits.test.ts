/**
 * gateway/dispatch/client-limits.ts and its token bucket, on an injected clock.
 */
import { describe, expect, test } from 'vitest';
import { ClientLimits, DEFAULT_CLIENT_LIMITS } from '../../gateway/dispatch/client-limits.js';
import { TokenBucket } from '../../gateway/token-bucket.js';
import { ErrorCode } from '../../src/errors.js';
import { codeOf } from '../fixtures/error-code.js';

function clock(start = 1000): { now: () => number; advance: (ms: number) => void } {
  let t = start;
  return { now: () => t, advance: (ms) => (t += ms) };
}

describe('TokenBucket', () => {
  test('starts full, refills at its rate up to its capacity, and refuses without taking', () => {
    const bucket = new TokenBucket(10, 3, 0);
    expect([bucket.take(1, 0), bucket.take(1, 0), bucket.take(1, 0), bucket.take(1, 0)]).toEqual([true, true, true, false]);
    expect(bucket.take(1, 50)).toBe(false); // half a token
    expect(bucket.take(1, 100)).toBe(true);
    expect(bucket.tokensAt(100)).toBe(0);
    expect(bucket.tokensAt(10_000)).toBe(3);
    expect(bucket.isFull(400)).toBe(true);
    expect(bucket.take(5, 400)).toBe(false);
    expect(bucket.tokensAt(400)).toBe(3);
  });

  test('a clock that steps back only delays the refill', () => {
    const bucket = new TokenBucket(10, 1, 1000);
    expect(bucket.take(1, 1000)).toBe(true);
    expect(bucket.take(1, 500)).toBe(false);
    expect(bucket.take(1, 1100)).toBe(true);
  });
});

describe('ClientLimits', () => {
  test('a client at its in-flight limit is throttled; a slot given back lets the next call in; others are not affected', () => {
    const { now } = clock();
    const limits = new ClientLimits({ maxInFlight: 2 }, now);
    const first = limits.admit('a', 'r1');
    limits.admit('a', 'r2');
    expect(codeOf(() => limits.admit('a', 'r3'))).toBe(ErrorCode.ResourceThrottled);
    expect(() => limits.admit('a', 'r3')).toThrow(/client a has 2 calls in flight/);
    limits.admit('b', 'r1');
    first();
    first(); // once only
    limits.admit('a', 'r3');
    expect(codeOf(() => limits.admit('a', 'r4'))).toBe(ErrorCode.ResourceThrottled);
  });

  test('a call that joins a running one (startsCall false) takes no slot but counts against the rate', () => {
    const { now } = clock();
    const limits = new ClientLimits({ maxInFlight: 1, callsPerSecond: 1, burst: 3 }, now);
    limits.admit('a', 'r1');
    limits.admit('a', 'r1', false);
    limits.admit('a', 'r1', false);
    expect(() => limits.admit('a', 'r1', false)).toThrow(/over its rate of 1 calls\/s \(burst 3\)/);
  });

  test('the rate: a burst, then the refill rate; the refused request carries its request ID', () => {
    const { now, advance } = clock();
    const limits = new ClientLimits({ callsPerSecond: 100, burst: 5 }, now);
    for (let i = 0; i < 5; i++) limits.admit('a', `r${i}`)();
    let refused: unknown;
    try {
      limits.admit('a', 'r5');
    } catch (error) {
      refused = error;
    }
    expect(refused).toMatchObject({ code: ErrorCode.ResourceThrottled, requestId: 'r5' });
    advance(10); // one token at 100/s
    limits.admit('a', 'r6')();
    expect(codeOf(() => limits.admit('a', 'r7'))).toBe(ErrorCode.ResourceThrottled);
    expect(codeOf(() => limits.admit('b', 'r1'))).toBeUndefined();
  });

  test('idle clients are forgotten once their bucket has refilled; busy ones are kept', () => {
    const { now, advance } = clock();
    const limits = new ClientLimits({ callsPerSecond: 10, burst: 10 }, now);
    const release = limits.admit('busy', 'r1');
    for (let i = 0; i < 100; i++) limits.admit(`idle-${i}`, 'r')();
    expect(limits.size).toBe(101);
    advance(1000); // 1 s: each idle bucket (one token short) has refilled
    limits.admit('new', 'r')();
    expect(limits.size).toBe(2); // busy + new
    release();
    advance(1000);
    limits.admit('other', 'r')();
    expect(limits.size).toBe(1); // other: busy went once idle and refilled, new refilled too
  });

  test('a flood of client IDs keeps the table bounded even before their buckets refill', () => {
    const { now, advance } = clock();
    const limits = new ClientLimits({ maxIdleClients: 1000 }, now);
    const busy = limits.admit('busy', 'r');
    let largest = 0;
    for (let i = 0; i < 50_000; i++) {
      limits.admit(`flood-${i}`, 'r')();
      largest = Math.max(largest, limits.size);
      if (i % 100 === 0) advance(1); // the flood is fast: buckets never refill in time
    }
    expect(largest).toBeLessThanOrEqual(1000 + 2);
    // The busy client's entry and its count survived the flood.
    expect(() => limits.admit('busy', 'r2')).not.toThrow();
    busy();
  });

  test('the defaults', () => {
    expect(DEFAULT_CLIENT_LIMITS).toEqual({ maxInFlight: 1000, callsPerSecond: 40_000, burst: 80_000, maxIdleClients: 10_000 });
    const limits = new ClientLimits({}, clock().now);
    for (let i = 0; i < 1000; i++) limits.admit('a', `r${i}`);
    expect(codeOf(() => limits.admit('a', 'x'))).toBe(ErrorCode.ResourceThrottled);
  });
});
