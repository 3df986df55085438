/**
 * Versions and aliases on real files (docs/protocol.md §3.2a, §9.14, §9.15): what is refused and
 * why, weighted picks with an injected random source, and the state a restart reads back.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { ErrorCode } from '../../src/errors.js';
import { DeploymentStore } from '../../gateway/deployments/deployment-store.js';
import { Deployments } from '../../gateway/deployments/deployments.js';
import { createStreamLogger } from '../../gateway/logging/logger.js';
import { Registry } from '../../gateway/registry/registry.js';
import { VersionStore } from '../../gateway/versions/version-store.js';
import { Versions } from '../../gateway/versions/versions.js';

let dir: string;
const logger = createStreamLogger({ write: () => undefined });
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'edgefc-versions-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A gateway's parts as Gateway.start wires them, serving a template kept as deployment d1. */
async function open(random?: () => number): Promise<{ versions: Versions; store: DeploymentStore; registry: Registry }> {
  const root = join(dir, 'app');
  await mkdir(join(root, 'fn'), { recursive: true });
  await writeFile(join(root, 'fn/index.js'), 'exports.handler = (e, c, cb) => cb(null, "x");\n');
  await writeFile(join(root, 'template.yml'), 'edgefc: 1\nservices:\n  App:\n    functions:\n      one:\n        runtime: nodejs20\n        handler: index.handler\n        codeUri: ./fn\n');
  const data = join(dir, 'data');
  const store = DeploymentStore.open(data);
  const registry = new Registry(await Deployments.atStart(store, join(root, 'template.yml'), logger, 1 << 20));
  const versions = await Versions.open({ store: new VersionStore(data), deployments: store, registry, logger, ...(random === undefined ? {} : { random }) });
  return { versions, store, registry };
}

const codeOf = async (promise: Promise<unknown>): Promise<unknown> => promise.then(() => 'resolved', (error: { code?: string }) => error.code);

describe('Versions', () => {
  test('publish numbers versions per service; resolve gives each its own frozen spec with its versionId', async () => {
    const { versions } = await open();
    expect((await versions.publish('App', 'first', 'op')).versionId).toBe('1');
    expect((await versions.publish('App', '', 'op')).versionId).toBe('2');
    expect(versions.resolve('App', 'one', '1')).toMatchObject({ versionId: '1', service: { versionId: '1' }, fn: { name: 'one' } });
    expect(versions.resolve('App', 'one', 'LATEST')).toMatchObject({ versionId: '', service: { versionId: '' } });
    expect(() => versions.resolve('App', 'two', '1')).toThrow(expect.objectContaining({ code: ErrorCode.FunctionNotFound }) as Error);
    expect(() => versions.resolve('App', 'one', 'beta')).toThrow(/names no version or alias of service "App" \(versions: 1, 2; aliases: none/);
    expect(await codeOf(versions.publish('Nope', '', 'op'))).toBe(ErrorCode.ServiceNotFound);
    expect(await codeOf(versions.publish('App', 'x'.repeat(257), 'op'))).toBe(ErrorCode.InvalidArgument);
  });

  test('aliases: names, versions and weights are checked; a weighted alias picks by its weight', async () => {
    let next = 0.5;
    const { versions } = await open(() => next);
    await versions.publish('App', '', 'op');
    await versions.publish('App', '', 'op');
    const refused = async (args: Parameters<Versions['putAlias']>[1], create = true): Promise<unknown> => codeOf(versions.putAlias('App', args, create));
    expect(await refused({ aliasName: 'LATEST', versionId: '1' })).toBe(ErrorCode.InvalidArgument);
    expect(await refused({ aliasName: '1abc', versionId: '1' })).toBe(ErrorCode.InvalidArgument);
    expect(await refused({ aliasName: 'prod', versionId: '7' })).toBe(ErrorCode.InvalidArgument);
    expect(await refused({ aliasName: 'prod', versionId: '1', additionalVersionWeight: { '1': 0.5 } })).toBe(ErrorCode.InvalidArgument);
    expect(await refused({ aliasName: 'prod', versionId: '1', additionalVersionWeight: { '2': 1.5 } })).toBe(ErrorCode.InvalidArgument);
    expect(await refused({ aliasName: 'prod', versionId: '1' }, false)).toBe(ErrorCode.InvalidArgument);
    await versions.putAlias('App', { aliasName: 'prod', versionId: '1', additionalVersionWeight: { '2': 0.25 } }, true);
    expect(await refused({ aliasName: 'prod', versionId: '1' })).toBe(ErrorCode.InvalidArgument);
    next = 0.2;
    expect(versions.resolve('App', 'one', 'prod').versionId).toBe('2');
    next = 0.25;
    expect(versions.resolve('App', 'one', 'prod').versionId).toBe('1');
    // A version an alias uses, even as its weighted second, is not deleted.
    expect(await codeOf(versions.deleteVersion('App', '2'))).toBe(ErrorCode.InvalidArgument);
    await versions.putAlias('App', { aliasName: 'prod', additionalVersionWeight: {} }, false);
    expect((await versions.deleteVersion('App', '2')).versionId).toBe('2');
    expect(() => versions.resolve('App', 'one', '2')).toThrow(expect.objectContaining({ code: ErrorCode.FunctionNotFound }) as Error);
  });

  test('a restart reads versions and aliases back; the deployments they name are pinned (pruning: test/e2e/versions.test.ts)', async () => {
    const first = await open();
    await first.versions.publish('App', 'kept', 'op');
    await first.versions.putAlias('App', { aliasName: 'prod', versionId: '1' }, true);
    expect(first.versions.pinnedDeployments()).toEqual(new Set(['d1']));
    const again = await Versions.open({ store: new VersionStore(join(dir, 'data')), deployments: first.store, registry: first.registry, logger });
    expect(again.list('App').map((v) => [v.versionId, v.description, v.deployment])).toEqual([['1', 'kept', 'd1']]);
    expect(again.resolve('App', 'one', 'prod')).toMatchObject({ versionId: '1' });
  });
});
