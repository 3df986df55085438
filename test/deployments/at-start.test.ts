/**
 * What a gateway serves at start (docs/lifecycle.md "Deployments"): --template F becomes a new
 * deployment only when its content is not kept already.
 */
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { DeploymentStore } from '../../gateway/deployments/deployment-store.js';
import { Deployments } from '../../gateway/deployments/deployments.js';
import { packTemplate } from '../../gateway/deployments/pack-bundle.js';
import { createStreamLogger } from '../../gateway/logging/logger.js';

let dir: string;
const lines: string[] = [];
const logger = createStreamLogger({ write: (line) => lines.push(line) });
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'edgefc-atstart-'));
  lines.length = 0;
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function app(name: string, functions: string[]): Promise<string> {
  const root = join(dir, name);
  await mkdir(join(root, 'fn'), { recursive: true });
  await writeFile(join(root, 'fn/index.js'), `exports.handler = (e, c, cb) => cb(null, ${JSON.stringify(name)});\n`);
  const body = functions.map((fn) => `      ${fn}:\n        runtime: nodejs20\n        handler: index.handler\n        codeUri: ./fn\n`).join('');
  await writeFile(join(root, 'template.yml'), `edgefc: 1\nservices:\n  App:\n    functions:\n${body}`);
  return join(root, 'template.yml');
}

const names = (t: { functions: { serviceName: string; name: string }[] }): string[] => t.functions.map((fn) => `${fn.serviceName}/${fn.name}`);

describe('Deployments.atStart', () => {
  test('an empty data directory without --template serves nothing', async () => {
    const store = DeploymentStore.open(join(dir, 'data'));
    expect((await Deployments.atStart(store, undefined, logger, 1 << 20)).functions).toEqual([]);
    expect(store.list()).toEqual([]);
  });

  test('--template F is kept once; the same F again serves the current deployment; a changed F is new', async () => {
    const data = join(dir, 'data');
    const first = await app('a', ['one', 'two']);
    let store = DeploymentStore.open(data);
    const served = await Deployments.atStart(store, first, logger, 1 << 20);
    expect(served.path).toBe(first); // served in place: SIGHUP reads the operator's file
    expect(store.list().map((r) => [r.id, r.source, r.principal])).toEqual([['d1', 'path', 'local']]);

    // Something else was deployed since (as an upload would: a kept bundle made current).
    const other = await packTemplate(await app('b', ['three']));
    const staged = store.stage(other.bytes);
    store.commit({ id: staged.id, createdAt: new Date().toISOString(), principal: 'op', source: 'upload', sha256: staged.sha256, bytes: other.bytes.length, template: staged.template, functions: ['App/three'], removed: [] });

    store = DeploymentStore.open(data);
    const restarted = await Deployments.atStart(store, first, logger, 1 << 20);
    expect(names(restarted)).toEqual(['App/three']);
    expect(restarted.path).toBe(store.templatePath(store.current()!));
    expect(store.list()).toHaveLength(2);

    await writeFile(first, readFileSync(first, 'utf8').replace('two:', 'four:'));
    const changed = await Deployments.atStart(DeploymentStore.open(data), first, logger, 1 << 20);
    expect(names(changed)).toEqual(['App/one', 'App/four']);
    expect(DeploymentStore.open(data).current()?.id).toBe('d3');
  });

  test('a template whose code is outside its directory is served, not kept, with a warning', async () => {
    const root = join(dir, 'outside');
    await app('code', ['x']);
    await mkdir(root);
    const file = join(root, 'template.yml');
    await writeFile(file, `edgefc: 1\nservices:\n  App:\n    functions:\n      x:\n        runtime: nodejs20\n        handler: index.handler\n        codeUri: ../code/fn\n`);
    const store = DeploymentStore.open(join(dir, 'data'));
    expect(names(await Deployments.atStart(store, file, logger, 1 << 20))).toEqual(['App/x']);
    expect(store.list()).toEqual([]);
    expect(lines.join('')).toMatch(/WARN the template is served but not kept as a deployment/);
  });
});
