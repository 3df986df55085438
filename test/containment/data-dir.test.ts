/**
 * The data directory's modes (gateway/containment/data-dir.ts): born private, tightened when
 * found loose, and what the gateway says about it at start (containment.ts). No root needed.
 */
import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Containment } from '../../gateway/containment/containment.js';
import { lockDownDataDir, untraversableAncestor } from '../../gateway/containment/data-dir.js';
import type { Logger } from '../../gateway/logging/logger.js';

const dirs: string[] = [];
function tmp(): string {
  const dir = mkdtempSync(join(tmpdir(), 'edgefc-datadir-'));
  chmodSync(dir, 0o755);
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const modeOf = (path: string): number => statSync(path).mode & 0o7777;

function capture(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const push = (level: string) => (message: string, fields?: object) => lines.push(`${level} ${message} ${JSON.stringify(fields ?? {})}`);
  return { lines, logger: { debug: push('DEBUG'), info: push('INFO'), warn: push('WARN'), error: push('ERROR'), functionLine: () => undefined } };
}

describe('data directory', () => {
  it('is created 0700 (0711 when functions traverse it), its store 0600 and logs 0700 from the first moment', () => {
    const plain = join(tmp(), 'data');
    expect(lockDownDataDir(plain, false).changed).toEqual([]);
    expect(modeOf(plain)).toBe(0o700);
    expect(modeOf(join(plain, 'async.db'))).toBe(0o600);
    expect(modeOf(join(plain, 'logs'))).toBe(0o700);
    const traversed = join(tmp(), 'data');
    lockDownDataDir(traversed, true);
    expect(modeOf(traversed)).toBe(0o711);
  });

  it('tightens a loose one it finds, says what changed, and leaves files it does not own alone', () => {
    const dir = join(tmp(), 'data');
    mkdirSync(join(dir, 'logs', 'Svc'), { recursive: true, mode: 0o755 });
    chmodSync(dir, 0o755);
    writeFileSync(join(dir, 'async.db'), '', { mode: 0o644 });
    writeFileSync(join(dir, 'async.db-wal'), '', { mode: 0o644 });
    writeFileSync(join(dir, 'logs', 'Svc', 'f.log'), 'x', { mode: 0o644 });
    writeFileSync(join(dir, 'broker.acl'), 'x', { mode: 0o644 });
    const { changed } = lockDownDataDir(dir, false);
    expect(changed.filter((line) => !line.includes('owner'))).toEqual([
      `${dir}: 0755 -> 0700`,
      `${join(dir, 'async.db')}: 0644 -> 0600`,
      `${join(dir, 'async.db-wal')}: 0644 -> 0600`,
      `${join(dir, 'logs')}: 0755 -> 0700`,
      `${join(dir, 'logs', 'Svc')}: 0755 -> 0700`,
      `${join(dir, 'logs', 'Svc', 'f.log')}: 0644 -> 0600`,
    ]);
    expect(modeOf(join(dir, 'broker.acl'))).toBe(0o644);
    expect(lockDownDataDir(dir, false).changed).toEqual([]);
  });

  it('does not chmod a shared sticky directory such as /tmp, and says so', () => {
    const shared = join(tmp(), 'shared');
    mkdirSync(shared, { mode: 0o1777 });
    chmodSync(shared, 0o1777);
    const { notes } = lockDownDataDir(shared, false);
    expect(modeOf(shared)).toBe(0o1777);
    expect(notes.join('\n')).toContain('sticky');
    expect(modeOf(join(shared, 'async.db'))).toBe(0o600);
  });

  it('finds the ancestor that would keep function users from their code', () => {
    const base = tmp();
    const data = join(base, 'closed', 'data');
    mkdirSync(data, { recursive: true });
    chmodSync(join(base, 'closed'), 0o700);
    expect(untraversableAncestor(data)).toBe(join(base, 'closed'));
    chmodSync(join(base, 'closed'), 0o711);
    chmodSync(data, 0o711);
    expect(untraversableAncestor(data)).toBeUndefined();
  });
});

describe('a gateway that cannot switch users', () => {
  it('says so in one warning line naming what is not contained, and places nothing', async () => {
    const { logger, lines } = capture();
    const dataDir = join(tmp(), 'data');
    const containment = Containment.open({ dataDir, logger, isRoot: false });
    expect(containment.active).toBe(false);
    const warnings = lines.filter((line) => line.startsWith('WARN'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/not contained.*environ.*data directory.*code/);
    expect(modeOf(dataDir)).toBe(0o700);
    const template = { path: 't.yml', identity: { region: '', accountId: '', credentials: { accessKeyId: '', accessKeySecret: '', securityToken: '' } }, services: [], functions: [] };
    expect(await containment.place(template)).toBe(template);
  });

  it('--function-user off warns the same way', async () => {
    const { logger, lines } = capture();
    const containment = Containment.open({ dataDir: join(tmp(), 'data'), logger, isRoot: true, setting: 'off' });
    expect(containment.active).toBe(false);
    expect(lines.filter((line) => line.startsWith('WARN'))).toEqual([expect.stringMatching(/as root \(--function-user off\): not contained/)]);
  });
});
