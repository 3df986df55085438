/**
 * Who functions run as (gateway/containment/function-user.ts) and the stable uid per function
 * (function-uids.ts). No root needed: nothing here starts a process.
 */
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_UID_RANGE, parseFunctionUser } from '../../gateway/containment/function-user.js';
import { FUNCTION_UIDS_FILE, FunctionUids } from '../../gateway/containment/function-uids.js';
import { ErrorCode } from '../../src/errors.js';

const dirs: string[] = [];
function tmp(): string {
  const dir = mkdtempSync(join(tmpdir(), 'edgefc-uids-'));
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function codeOf(run: () => unknown): string | undefined {
  try {
    run();
  } catch (error) {
    return (error as { code?: string }).code;
  }
  return undefined;
}

describe('--function-user', () => {
  it('reads auto, off, a uid range, UID[:GID] and a user name from passwd', () => {
    const passwd = join(tmp(), 'passwd');
    writeFileSync(passwd, 'root:x:0:0::/root:/bin/sh\nnobody:x:65534:65534::/nonexistent:/usr/sbin/nologin\n');
    expect(parseFunctionUser('auto')).toBe('auto');
    expect(parseFunctionUser('off')).toBe('off');
    expect(parseFunctionUser('uids:3000000-3000999')).toEqual({ uidRange: { first: 3_000_000, last: 3_000_999 } });
    expect(parseFunctionUser('1234')).toEqual({ uid: 1234, gid: 1234 });
    expect(parseFunctionUser('1234:99')).toEqual({ uid: 1234, gid: 99 });
    expect(parseFunctionUser('nobody', passwd)).toEqual({ uid: 65534, gid: 65534 });
  });

  it('refuses root, ids past uid_t, empty or reversed ranges and unknown names: InvalidArgument', () => {
    const passwd = join(tmp(), 'passwd');
    writeFileSync(passwd, 'root:x:0:0::/root:/bin/sh\n');
    for (const text of ['0', '0:0', 'root', '4294967295', 'uids:10-5', 'uids:0-5', 'no-such-user', '']) {
      expect(codeOf(() => parseFunctionUser(text, passwd)), text).toBe(ErrorCode.InvalidArgument);
    }
  });

  it('defaults to a range clear of regular, dynamic, subordinate and container uids, below 2^31', () => {
    expect(DEFAULT_UID_RANGE.first).toBeGreaterThan(1_879_048_191);
    expect(DEFAULT_UID_RANGE.last).toBeLessThan(2 ** 31 - 1);
  });
});

describe('a uid per function', () => {
  it('is the lowest free one, the same after a restart, never reused for another function', () => {
    const dir = tmp();
    const range = { first: 5000, last: 5009 };
    const first = new FunctionUids(dir, range).assign(['S/a', 'S/b']);
    expect([...first]).toEqual([
      ['S/a', 5000],
      ['S/b', 5001],
    ]);
    // S/a left the template: its uid stays its own; a new function gets a fresh one.
    const again = new FunctionUids(dir, range).assign(['S/b', 'S/c']);
    expect([...again]).toEqual([
      ['S/b', 5001],
      ['S/c', 5002],
    ]);
    expect(new FunctionUids(dir, range).assign(['S/a']).get('S/a')).toBe(5000);
    expect(statSync(join(dir, FUNCTION_UIDS_FILE)).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(join(dir, FUNCTION_UIDS_FILE), 'utf8'))).toEqual({ version: 1, uids: { 'S/a': 5000, 'S/b': 5001, 'S/c': 5002 } });
  });

  it('drops assignments outside a changed range, and says when the range is full (ServiceUnavailable)', () => {
    const dir = tmp();
    new FunctionUids(dir, { first: 5000, last: 5009 }).assign(['S/a']);
    const narrow = new FunctionUids(dir, { first: 7000, last: 7000 });
    expect(narrow.assign(['S/a']).get('S/a')).toBe(7000);
    expect(codeOf(() => narrow.assign(['S/b']))).toBe(ErrorCode.ServiceUnavailable);
  });

  it('refuses a uid map it cannot read rather than handing out uids twice', () => {
    const dir = tmp();
    writeFileSync(join(dir, FUNCTION_UIDS_FILE), 'not json');
    expect(codeOf(() => new FunctionUids(dir, DEFAULT_UID_RANGE))).toBe(ErrorCode.ServiceUnavailable);
  });
});
