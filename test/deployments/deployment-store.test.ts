import { existsSync, readFileSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { encodeBundle } from '../../gateway/deployments/bundle-format.js';
import { DeploymentStore, type DeploymentRecord } from '../../gateway/deployments/deployment-store.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'edgefc-store-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const bundle = (text: string): Buffer =>
  encodeBundle({ template: 'app/t.yml', files: [{ path: 'app/t.yml', mode: 0o644, data: Buffer.from(text) }, { path: 'app/fn/bootstrap', mode: 0o755, data: Buffer.from('#!/bin/sh\n') }] });

function record(staged: { id: string; template: string; sha256: string }, functions: string[]): DeploymentRecord {
  return { id: staged.id, createdAt: new Date(0).toISOString(), principal: 'alice', source: 'upload', sha256: staged.sha256, bytes: 1, template: staged.template, functions, removed: [] };
}

describe('DeploymentStore', () => {
  test('stage unpacks, commit lists and makes current; ids go up', () => {
    const store = DeploymentStore.open(dir);
    expect(store.current()).toBeUndefined();
    const first = store.stage(bundle('one'));
    expect(first.id).toBe('d1');
    expect(readFileSync(first.templatePath, 'utf8')).toBe('one');
    expect(statSync(join(dir, 'deployments/d1/files/app/fn/bootstrap')).mode & 0o777).toBe(0o755);
    // Staged, not committed: not listed, not current.
    expect(store.list()).toEqual([]);
    store.commit(record(first, ['S/a']));
    const second = store.stage(bundle('two'));
    expect(second.id).toBe('d2');
    store.commit(record(second, ['S/b']));
    expect(store.list().map((r) => r.id)).toEqual(['d1', 'd2']);
    expect(store.current()?.id).toBe('d2');
    expect(store.bundle(store.get('d1') as DeploymentRecord).equals(bundle('one'))).toBe(true);
    store.setCurrent('d1');
    // What a restart sees.
    const reopened = DeploymentStore.open(dir);
    expect(reopened.current()?.functions).toEqual(['S/a']);
    expect(reopened.templatePath(reopened.current() as DeploymentRecord)).toBe(first.templatePath);
  });

  test('a refused deploy is discarded; one a dead gateway left half-written is removed at open', async () => {
    const store = DeploymentStore.open(dir);
    const refused = store.stage(bundle('bad'));
    store.discard(refused.id);
    expect(existsSync(join(dir, 'deployments', refused.id))).toBe(false);
    store.stage(bundle('half'));
    await mkdir(join(dir, 'deployments/d9/files'), { recursive: true });
    await writeFile(join(dir, 'deployments/d9/bundle'), 'x');
    const reopened = DeploymentStore.open(dir);
    expect(reopened.list()).toEqual([]);
    expect(existsSync(join(dir, 'deployments/d1'))).toBe(false);
    expect(existsSync(join(dir, 'deployments/d9'))).toBe(false);
    expect(reopened.stage(bundle('next')).id).toBe('d1');
  });

  test('a bad bundle is refused before anything is written', () => {
    const store = DeploymentStore.open(dir);
    expect(() => store.stage(Buffer.from('not a bundle'))).toThrow(/bad deploy bundle/);
    expect(existsSync(join(dir, 'deployments/d1'))).toBe(false);
  });
  test('prune keeps the newest N, the current one, the one before it and what kept ones build on; their files go', () => {
    const store = DeploymentStore.open(dir);
    for (let i = 1; i <= 5; i += 1) {
      const staged = store.stage(bundle(`v${i}`));
      store.commit(i === 3 ? { ...record(staged, ['S/a']), source: 'function', only: 'S/a', base: 'd1' } : record(staged, ['S/a']));
    }
    // d3 served again (as a start with --template of its content would): newest is d5.
    store.setCurrent('d3');
    expect(store.prune(1)).toEqual(['d4']);
    expect(store.list().map((r) => r.id)).toEqual(['d1', 'd2', 'd3', 'd5']);
    expect(existsSync(join(dir, 'deployments/d4'))).toBe(false);
    // d5 served: d3 is the one before it, and d1 what d3 builds on.
    store.setCurrent('d5');
    expect(store.prune(1)).toEqual(['d2']);
    expect(store.list().map((r) => r.id)).toEqual(['d1', 'd3', 'd5']);
    // Ids go on from the newest kept, never reused.
    expect(store.stage(bundle('v6')).id).toBe('d6');
  });

  test('a prune cut short by a crash leaves a directory without deployment.json: removed at open, never listed', async () => {
    const store = DeploymentStore.open(dir);
    for (let i = 1; i <= 2; i += 1) {
      const staged = store.stage(bundle(`v${i}`));
      store.commit(record(staged, ['S/a']));
    }
    await rm(join(dir, 'deployments/d1/deployment.json'));
    expect(DeploymentStore.open(dir).list().map((r) => r.id)).toEqual(['d2']);
    expect(existsSync(join(dir, 'deployments/d1'))).toBe(false);
  });
});
