/**
 * gateway/logging/log-pages.ts on real files: a cursor survives rotations (the file it names is
 * found by inode under its new name), says `gap` when its file was rotated away, starts over
 * after a truncation, and never returns a line still being written.
 */
import { appendFile, mkdtemp, rename, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { readLogPage } from '../../gateway/logging/log-pages.js';

let dir: string;
let file: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'edgefc-pages-'));
  file = join(dir, 'f.log');
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const line = (n: number): string => `2026-01-01T00:00:${String(n).padStart(2, '0')}.000Z req-${n} [INFO] line ${n}`;
const lines = (from: number, to: number): string => Array.from({ length: to - from + 1 }, (_, i) => `${line(from + i)}\n`).join('');
const read = (options: Partial<Parameters<typeof readLogPage>[1]> = {}): ReturnType<typeof readLogPage> => readLogPage(file, { maxBytes: 64 * 1024, ...options });

/** What RotatingFile does: f.log.k → f.log.k+1, …, f.log → f.log.1, and a new f.log. */
async function rotate(keep: number): Promise<void> {
  await rm(`${file}.${keep - 1}`, { force: true });
  for (let k = keep - 2; k >= 1; k -= 1) await rename(`${file}.${k}`, `${file}.${k + 1}`).catch(() => undefined);
  await rename(file, `${file}.1`);
  await writeFile(file, '');
}

describe('readLogPage', () => {
  test('no log: exists false, and a cursor that finds the file once it comes', async () => {
    const none = await read({ tail: 10 });
    expect(none).toEqual({ lines: [], cursor: '0:0:', more: false, exists: false });
    await writeFile(file, lines(1, 2));
    expect((await read({ cursor: none.cursor })).lines).toEqual([line(1), line(2)]);
  });

  test('a cursor goes on across rotations, every line once and in order', async () => {
    await writeFile(file, lines(1, 3));
    const first = await read({ tail: 2 });
    expect(first.lines).toEqual([line(2), line(3)]);
    await appendFile(file, lines(4, 5));
    await rotate(5);
    await appendFile(file, lines(6, 7));
    await rotate(5);
    await appendFile(file, lines(8, 8));
    const next = await read({ cursor: first.cursor });
    expect(next.lines).toEqual([4, 5, 6, 7, 8].map(line));
    expect(next.gap).toBeUndefined();
  });

  test('a cursor whose file was rotated away: gap, from the oldest line kept (also when a new file took its inode)', async () => {
    await writeFile(file, lines(1, 2));
    const first = await read();
    for (let i = 3; i <= 6; i += 1) {
      await appendFile(file, lines(i, i));
      await rotate(2); // one rotated file kept
    }
    await appendFile(file, lines(7, 7));
    const next = await read({ cursor: first.cursor });
    expect(next).toMatchObject({ gap: true, lines: [line(6), line(7)] });
  });

  test('a line still being written waits for its newline; a truncated file starts over', async () => {
    await writeFile(file, `${line(1)}\n2026-01-01T00:00:02.000Z req-2 [INFO] half`);
    const first = await read();
    expect(first.lines).toEqual([line(1)]);
    await appendFile(file, ' written\n');
    const second = await read({ cursor: first.cursor });
    expect(second.lines).toEqual(['2026-01-01T00:00:02.000Z req-2 [INFO] half written']);
    await truncate(file, 0);
    await appendFile(file, lines(9, 9));
    expect((await read({ cursor: second.cursor })).lines).toEqual([line(9)]);
  });

  test('--since starts at the first line at or after it, with the Start frame before it', async () => {
    await writeFile(file, `FC Invoke Start RequestId: req-1\n${line(1)}\nFC Invoke End RequestId: req-1\nFC Invoke Start RequestId: req-5\n${line(5)}\n  continued\nFC Invoke End RequestId: req-5\n`);
    const page = await read({ sinceMs: Date.parse('2026-01-01T00:00:03.000Z') });
    expect(page.lines).toEqual(['FC Invoke Start RequestId: req-5', line(5), '  continued', 'FC Invoke End RequestId: req-5']);
    // A continuation line goes with its call's filter.
    expect((await read({ requestId: 'req-5' })).lines).toEqual(['FC Invoke Start RequestId: req-5', line(5), '  continued', 'FC Invoke End RequestId: req-5']);
  });
});
