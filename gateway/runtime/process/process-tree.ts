/**
 * Process-group helpers. Each instance is forked `detached`, which makes it the leader of its
 * own process group (setsid), so one `kill(-pid)` reaches the function and everything it
 * spawned (`execSync('sleep 60')`, a forgotten `spawn`), unless those called setsid themselves.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** SIGKILL the whole group led by `pid`. Quietly does nothing when it is already gone. */
export function killProcessGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // ESRCH: the group is empty already. EPERM cannot happen for our own children.
  }
}

/** True while a process with this pid exists (zombies included: they are reaped by the parent). */
export function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Pids of the live (non-zombie) members of process group `pgid`, read from /proc (Linux).
 * Used by tests and diagnostics to prove that a stopped instance left nothing behind.
 */
export function processGroupMembers(pgid: number): number[] {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return [];
  }
  const members: number[] = [];
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue;
    }
    // `pid (comm) state ppid pgrp ...`; comm may hold spaces and parentheses, so split after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const state = fields[0];
    const group = Number(fields[2]);
    if (group === pgid && state !== 'Z' && state !== 'X') members.push(Number(entry));
  }
  return members;
}

/**
 * True while `pid` runs: exists and is not a zombie. A function's child whose parent was killed
 * is re-parented to PID 1, which in a container may never reap it; as a zombie it holds no
 * memory or CPU, so it counts as gone.
 */
export function processAlive(pid: number): boolean {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return processExists(pid);
  }
  const state = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
  return state !== 'Z' && state !== 'X';
}

/** Direct children of `pid`, from /proc/<pid>/task/<tid>/children (Linux, CONFIG_PROC_CHILDREN). */
export function childPids(pid: number): number[] {
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return [];
  }
  const out: number[] = [];
  for (const tid of tasks) {
    try {
      for (const child of readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').split(' ')) {
        if (child.trim() !== '') out.push(Number(child));
      }
    } catch {
      // The thread ended, or the kernel lacks the file: that thread's children go unmeasured.
    }
  }
  return out;
}

/**
 * `pid` and every process under it, at most `limit` (a fork bomb must not make a walk of its
 * tree the gateway's bottleneck).
 */
export function processTree(pid: number, limit = 1_000): number[] {
  const seen = new Set<number>();
  const queue = [pid];
  while (queue.length > 0 && seen.size < limit) {
    const next = queue.shift();
    if (next === undefined || seen.has(next)) continue;
    seen.add(next);
    queue.push(...childPids(next));
  }
  return [...seen];
}
