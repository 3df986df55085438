/**
 * CPU time and RSS of other processes, from Linux /proc (the bench reads Mosquitto's and the
 * function processes' usage this way; its own workers report process.cpuUsage() themselves).
 * Clock ticks are 10 ms (USER_HZ 100), so use these over runs of seconds, not single calls.
 */
import { readdirSync, readFileSync } from 'node:fs';

const TICK_US = 10_000;

interface ProcStat {
  ppid: number;
  cpuUs: number;
  rssBytes: number;
}

function readStat(pid: number): ProcStat | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 2 (comm) may hold spaces and parentheses: split after its closing ')'.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    // After comm: state(0) ppid(1) ... utime(11) stime(12) ... rss(21) in pages.
    const ppid = Number(fields[1]);
    const cpuUs = (Number(fields[11]) + Number(fields[12])) * TICK_US;
    const rssBytes = Number(fields[21]) * 4096;
    return { ppid, cpuUs, rssBytes };
  } catch {
    return undefined;
  }
}

/** User + system CPU of one process, µs; 0 when it is gone or /proc is missing. */
export function processCpuUs(pid: number): number {
  return readStat(pid)?.cpuUs ?? 0;
}

/** Direct children of `pid` (the gateway's function processes). */
export function childPids(pid: number): number[] {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return [];
  }
  const children: number[] = [];
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readStat(Number(entry));
    if (stat?.ppid === pid) children.push(Number(entry));
  }
  return children;
}

/** Summed CPU (µs) and RSS (bytes) of `pid`'s direct children. */
export function childrenUsage(pid: number): { cpuUs: number; rssBytes: number; count: number } {
  let cpuUs = 0;
  let rssBytes = 0;
  const pids = childPids(pid);
  for (const child of pids) {
    const stat = readStat(child);
    if (stat === undefined) continue;
    cpuUs += stat.cpuUs;
    rssBytes += stat.rssBytes;
  }
  return { cpuUs, rssBytes, count: pids.length };
}
