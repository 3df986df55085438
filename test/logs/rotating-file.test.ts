/**
 * RotatingFile's write batching: lines wait up to flushDelayMs to share one write, flush() and
 * close() write at once, and nothing queued is left behind.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { RotatingFile } from '../../gateway/logging/rotating-file.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'edgefc-rotating-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const contents = (file: string): Promise<string> => readFile(file, 'utf8').catch(() => '');

test('lines reach the file on their own after the delay, in order', async () => {
  const file = new RotatingFile(join(dir, 'f.log'), { flushDelayMs: 5 });
  for (let i = 0; i < 100; i++) file.write(`line ${i}`);
  const expected = Array.from({ length: 100 }, (_, i) => `line ${i}\n`).join('');
  await expect.poll(() => contents(file.path)).toBe(expected);
  // A line after the first batch is written too.
  file.write('late');
  await expect.poll(() => contents(file.path)).toBe(`${expected}late\n`);
  await file.close();
});

test('flush() and close() write at once, without waiting for the delay', async () => {
  const file = new RotatingFile(join(dir, 'f.log'), { flushDelayMs: 3_600_000 });
  file.write('one');
  await file.flush();
  expect(await contents(file.path)).toBe('one\n');
  file.write('two');
  await file.close();
  expect(await contents(file.path)).toBe('one\ntwo\n');
  file.write('after close');
  await file.flush();
  expect(await contents(file.path)).toBe('one\ntwo\n');
});

test('flush() also writes the lines that came in while a write was in flight', async () => {
  const file = new RotatingFile(join(dir, 'f.log'), { flushDelayMs: 3_600_000 });
  file.write('one');
  const flushed = file.flush(); // its write of 'one' is in flight now
  file.write('two');
  await flushed;
  expect(await contents(file.path)).toBe('one\ntwo\n');
  await file.close();
});
