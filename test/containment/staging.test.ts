/**
 * Code staged per function (gateway/containment/code-stager.ts, containment.ts): readable by its
 * own user only, content-addressed, restaged without a copy when unchanged, replaced on
 * redeploy and removed once no instance uses it. Needs root: it chowns, and reads as other users.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, lstatSync, mkdirSync, readFileSync, readlinkSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { prepareCodeRoot, removeUnusedCode, stageCode } from '../../gateway/containment/code-stager.js';
import { rootTitle, runsAsRoot } from '../fixtures/as-root.js';
import { traversableTempDir } from '../fixtures/temp-dirs.js';
import { startTestGateway, type TestGateway } from '../fixtures/test-gateway.js';

const UID = 2_000_060_005;
const OTHER = 2_000_060_006;

const dirs: string[] = [];
async function tmp(): Promise<string> {
  const dir = await traversableTempDir('edgefc-stage-');
  dirs.push(dir);
  return dir;
}

/** The error code (or 'ok') a process of `uid` gets doing `what` (fs.<what>Sync) on `path`. */
function as(uid: number, what: 'readFile' | 'readdir', path: string): string {
  const script = `try { require('node:fs').${what}Sync(${JSON.stringify(path)}); console.log('ok'); } catch (e) { console.log(e.code); }`;
  return spawnSync(process.execPath, ['-e', script], { uid, gid: uid, encoding: 'utf8' }).stdout.trim();
}

/** A codeUri: a file, an executable, a directory, a link inside and one to /etc/passwd. */
function writeCode(dir: string): void {
  mkdirSync(join(dir, 'lib'), { recursive: true });
  writeFileSync(join(dir, 'index.js'), 'exports.handler = () => 1;\n');
  writeFileSync(join(dir, 'run'), '#!/bin/sh\necho hi\n', { mode: 0o755 });
  writeFileSync(join(dir, 'lib', 'a.js'), 'module.exports = 2;\n');
  symlinkSync('lib/a.js', join(dir, 'a.js'));
  symlinkSync('/etc/passwd', join(dir, 'passwd'));
}

describe.skipIf(!runsAsRoot('staging'))(rootTitle('staged code'), () => {
  afterEach(async () => {
    for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
  });

  it('is root:<gid>, directories 0550, files 0440 (0550 executable), without links that leave codeUri', async () => {
    const base = await tmp();
    const source = join(base, 'src');
    writeCode(source);
    const codeRoot = join(base, 'code');
    prepareCodeRoot(codeRoot);
    const staged = stageCode(source, codeRoot, UID, UID);
    expect(staged).toMatchObject({ how: 'copied', files: 3, skipped: ['passwd -> /etc/passwd (leaves codeUri)'] });
    expect(staged.dir).toBe(join(codeRoot, String(UID), staged.hash));
    const owner = (path: string): string => {
      const stat = lstatSync(path);
      return `${stat.uid}:${stat.gid} ${(stat.mode & 0o7777).toString(8)}`;
    };
    expect(owner(codeRoot)).toBe('0:0 711');
    expect(owner(join(codeRoot, String(UID)))).toBe(`0:${UID} 550`);
    expect(owner(staged.dir)).toBe(`0:${UID} 550`);
    expect(owner(join(staged.dir, 'lib'))).toBe(`0:${UID} 550`);
    expect(owner(join(staged.dir, 'index.js'))).toBe(`0:${UID} 440`);
    expect(owner(join(staged.dir, 'run'))).toBe(`0:${UID} 550`);
    expect(readlinkSync(join(staged.dir, 'a.js'))).toBe('lib/a.js');
    expect(existsSync(join(staged.dir, 'passwd'))).toBe(false);

    expect(as(UID, 'readFile', join(staged.dir, 'a.js'))).toBe('ok');
    expect(as(OTHER, 'readFile', join(staged.dir, 'index.js'))).toBe('EACCES');
    expect(as(OTHER, 'readdir', join(codeRoot, String(UID)))).toBe('EACCES');
    expect(as(UID, 'readdir', codeRoot)).toBe('EACCES');
  });

  it('unchanged: found by its fingerprint; touched: by its hash; changed: copied anew; unused copies go', async () => {
    const base = await tmp();
    const source = join(base, 'src');
    writeCode(source);
    const codeRoot = join(base, 'code');
    prepareCodeRoot(codeRoot);
    const first = stageCode(source, codeRoot, UID, UID);
    expect(stageCode(source, codeRoot, UID, UID)).toMatchObject({ how: 'fingerprint', dir: first.dir });
    const later = new Date(Date.now() + 60_000);
    utimesSync(join(source, 'index.js'), later, later);
    expect(stageCode(source, codeRoot, UID, UID)).toMatchObject({ how: 'hashed', dir: first.dir });
    writeFileSync(join(source, 'index.js'), 'exports.handler = () => 3;\n');
    const changed = stageCode(source, codeRoot, UID, UID);
    expect(changed.how).toBe('copied');
    expect(changed.dir).not.toBe(first.dir);
    expect(readFileSync(join(changed.dir, 'index.js'), 'utf8')).toContain('3');
    // Another user's copy of the same code is its own directory.
    const other = stageCode(source, codeRoot, OTHER, OTHER);
    expect(other.hash).toBe(changed.hash);
    expect(other.dir).toBe(join(codeRoot, String(OTHER), changed.hash));

    expect(await removeUnusedCode(codeRoot, new Set([changed.dir]))).toBe(2);
    expect(existsSync(first.dir)).toBe(false);
    expect(existsSync(join(codeRoot, String(OTHER)))).toBe(false);
    expect(existsSync(changed.dir)).toBe(true);
  });

  describe('through a gateway', () => {
    let env: TestGateway | undefined;
    afterEach(async () => {
      await env?.stop();
      env = undefined;
    });

    it('a redeploy serves changed code from a new copy; the old copy goes once its instances are gone', async () => {
      const base = await tmp();
      const source = join(base, 'src');
      mkdirSync(source, { mode: 0o700 });
      chmodSync(source, 0o700);
      const handler = (version: string): string =>
        `exports.handler = (event, context, callback) => callback(null, JSON.stringify({ version: '${version}', code: process.env.FC_FUNC_CODE_PATH, uid: process.getuid() }));\n`;
      writeFileSync(join(source, 'index.js'), handler('v1'));
      const template = join(base, 'template.yml');
      writeFileSync(template, `edgefc: 1\nservices:\n  S:\n    functions:\n      f:\n        runtime: nodejs20\n        handler: index.handler\n        codeUri: ${JSON.stringify(source)}\n`);
      const gw = await startTestGateway({ templatePath: template });
      env = gw;
      const client = gw.client();
      const call = async (): Promise<{ version: string; code: string; uid: number }> =>
        JSON.parse(String((await client.invokeFunction({ serviceName: 'S', functionName: 'f' })).payload)) as { version: string; code: string; uid: number };
      const v1 = await call();
      expect(v1.version).toBe('v1');
      expect(statSync(v1.code).gid).toBe(v1.uid);

      writeFileSync(join(source, 'index.js'), handler('v2'));
      await gw.gateway.redeploy();
      const v2 = await call();
      expect(v2).toMatchObject({ version: 'v2', uid: v1.uid });
      expect(v2.code).not.toBe(v1.code);
      await expect.poll(() => existsSync(v1.code)).toBe(false);
      expect(existsSync(v2.code)).toBe(true);
      // Logged once the removal has returned: a moment after the directory is gone (a CI run saw it missing).
      await expect.poll(() => gw.lines.some((line) => line.startsWith('INFO unused staged code removed'))).toBe(true);
    });
  });
});
