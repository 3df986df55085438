/**
 * `follow` (gateway/logging/log-reader.ts) against a RotatingFile rotating under it as fast as
 * it can: every line is seen exactly once, in order, however the rotations fall between polls
 * and whatever file a rotation is renaming while the follower lists them.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { follow, readTail } from '../../gateway/logging/log-reader.js';
import { RotatingFile } from '../../gateway/logging/rotating-file.js';

describe('follow', () => {
  test('sees every line once across rotations that race its polls', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'edgefc-follow-'));
    const file = path.join(dir, 'f.log');
    // ~38 bytes a line against 400-byte files: a rotation every ten lines, flushed one line at a
    // time, while the follower polls every millisecond. Sixteen files: slack enough that a
    // follower slowed by a loaded machine misses nothing by falling behind.
    const writer = new RotatingFile(file, { maxBytes: 400, maxFiles: 16, flushDelayMs: 0 });
    writer.write('line ready');
    await writer.flush();
    const seen: string[] = [];
    const controller = new AbortController();
    // From a known position, as `edgefc logs --follow` does after its tail: nothing written
    // from here on can fall before the follower's start.
    const { position } = await readTail(file, { lines: 0 });
    const following = follow(file, (r) => seen.push(r.text), { intervalMs: 1, signal: controller.signal, ...(position === undefined ? {} : { from: position }) });
    try {
      const written: string[] = [];
      for (let i = 0; i < 2_000; i += 1) {
        const line = `line ${String(i).padStart(6, '0')} ${'x'.repeat(24)}`;
        written.push(line);
        writer.write(line);
        await writer.flush();
      }
      await expect.poll(() => seen.at(-1), { timeout: 10_000, interval: 5 }).toBe(written.at(-1));
      expect(seen).toEqual(written);
    } finally {
      controller.abort();
      await following;
      await writer.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
