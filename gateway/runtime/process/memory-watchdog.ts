/**
 * Enforces memorySize on a whole process, not only its JS heap.
 *
 * `--max-old-space-size` caps the V8 heap, but Buffers live outside it (a 64 MB-capped worker
 * allocated 1 GB of Buffers in our measurements). So the parent reads the child's resident set
 * from /proc/<pid>/status every 100 ms: about 20 µs a read, and it works while the child's event
 * loop is blocked, which an in-process check would not. Over the limit → the caller kills it.
 * Between two reads a function can overshoot by what it allocates in 100 ms.
 */
import { readFileSync } from 'node:fs';
import { childPids } from './process-tree.js';

/** @default 100 ms between RSS reads. */
export const DEFAULT_WATCHDOG_INTERVAL_MS = 100;

/** Resident set size in bytes, or undefined when /proc is not there (not Linux) or the process is gone. */
export function readRssBytes(pid: number): number | undefined {
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return undefined;
  }
  const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  return match?.[1] === undefined ? undefined : Number(match[1]) * 1024;
}

/**
 * Resident set of `pid` and every process under it. A custom runtime's `bootstrap` is often a
 * shell script that starts the real server as its child, so the launcher's own ~2 MB would say
 * nothing. Walks /proc/<pid>/task/<tid>/children (Linux, CONFIG_PROC_CHILDREN): a few reads per
 * tick, not a scan of all of /proc. Where that file is missing, only `pid` is measured.
 */
export function readTreeRssBytes(pid: number): number | undefined {
  const own = readRssBytes(pid);
  if (own === undefined) return undefined;
  let total = own;
  const seen = new Set<number>([pid]);
  const queue = childPids(pid);
  // 1,000: a fork bomb must not turn the watchdog itself into the gateway's bottleneck.
  while (queue.length > 0 && seen.size < 1_000) {
    const next = queue.shift();
    if (next === undefined || seen.has(next)) continue;
    seen.add(next);
    total += readRssBytes(next) ?? 0;
    queue.push(...childPids(next));
  }
  return total;
}

export class MemoryWatchdog {
  readonly #timer: NodeJS.Timeout;

  constructor(
    pid: number,
    limitBytes: number,
    onExceeded: (rssBytes: number) => void,
    intervalMs = DEFAULT_WATCHDOG_INTERVAL_MS,
    /** Measure the whole process tree (readTreeRssBytes), not only `pid`. @default false */
    tree = false,
  ) {
    this.#timer = setInterval(() => {
      const rss = tree ? readTreeRssBytes(pid) : readRssBytes(pid);
      if (rss !== undefined && rss > limitBytes) {
        this.stop();
        onExceeded(rss);
      }
    }, intervalMs);
    // Never keep the gateway alive for a watchdog alone.
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}
