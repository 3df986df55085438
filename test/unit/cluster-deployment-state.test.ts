/**
 * The value of the cluster's deployment key (gateway/cluster/cluster-deployment-state.ts): ids in
 * the cluster's order, the history cut to the newest N (never fewer than the current one and the
 * one before it, and the bases of per-function deployments kept), the records dropped named, and
 * a value this version did not write refused.
 */
import { describe, expect, test } from 'vitest';
import type { DeploymentRecord } from '../../gateway/deployments/deployment-store.js';
import { decodeState, encodeState, nextId, withCurrent } from '../../gateway/cluster/cluster-deployment-state.js';
import { codeOf } from '../fixtures/error-code.js';

function record(id: string, sha = 'a'): DeploymentRecord {
  return { id, createdAt: '2026-12-06T20:00:00.000Z', principal: 'ops', source: 'upload', sha256: sha.repeat(64), bytes: 10, template: 'template.yml', functions: ['S/f'], removed: [] };
}

describe('cluster deployment state', () => {
  test('ids follow the history: d1 for an empty cluster, then one past the newest', () => {
    expect(nextId(undefined)).toBe('d1');
    const { state } = withCurrent(undefined, record('d1'), 10);
    expect(nextId(state)).toBe('d2');
    expect(nextId(withCurrent(state, record('d9'), 10).state)).toBe('d10');
  });

  test('the history keeps the newest N, at least the current one and the one before it, and names what it drops', () => {
    let state = withCurrent(undefined, record('d1', 'a'), 2).state;
    state = withCurrent(state, record('d2', 'b'), 2).state;
    const moved = withCurrent(state, record('d3', 'c'), 2);
    expect(moved.state.history.map((r) => r.id)).toEqual(['d2', 'd3']);
    expect(moved.state.current.id).toBe('d3');
    expect(moved.dropped.map((r) => r.id)).toEqual(['d1']);
    expect(withCurrent(moved.state, record('d4'), 1).state.history.map((r) => r.id)).toEqual(['d3', 'd4']);
  });

  test('a per-function deployment keeps the chain of bases it builds on in the history, past the newest N', () => {
    let state = withCurrent(undefined, record('d1', 'a'), 2).state;
    state = withCurrent(state, { ...record('d2', 'b'), source: 'function', only: 'S/f', base: 'd1' }, 2).state;
    const moved = withCurrent(state, { ...record('d3', 'c'), source: 'function', only: 'S/g', base: 'd2' }, 2);
    expect(moved.state.history.map((r) => r.id)).toEqual(['d1', 'd2', 'd3']);
    expect(moved.dropped).toEqual([]);
    // A whole deployment ends the chain: its bases go once nothing kept builds on them.
    const whole = withCurrent(withCurrent(moved.state, record('d4', 'd'), 2).state, record('d5', 'e'), 2);
    expect(whole.state.history.map((r) => r.id)).toEqual(['d4', 'd5']);
    expect(whole.dropped.map((r) => r.id)).toEqual(['d1', 'd2', 'd3']);
  });

  test('round-trips through its bytes; anything else is InternalError, never half-applied', () => {
    const { state } = withCurrent(undefined, record('d1'), 10);
    expect(decodeState(encodeState(state))).toEqual(state);
    expect(codeOf(() => decodeState(new TextEncoder().encode('not json')))).toBe('InternalError');
    expect(codeOf(() => decodeState(new TextEncoder().encode(JSON.stringify({ current: { id: 'x' }, history: [] }))))).toBe('InternalError');
    expect(codeOf(() => decodeState(new TextEncoder().encode(JSON.stringify({ current: { ...record('d1'), sha256: 'zz' }, history: [] }))))).toBe('InternalError');
  });
});
