/**
 * The TCP ports a process tree listens on, from /proc: the LISTEN lines of
 * /proc/<pid>/net/tcp and tcp6 (the process's own network namespace, so this also sees inside an
 * instance's namespace) whose socket inode is among the tree's open fds. A custom web server
 * that listens somewhere other than its port is told apart from one that is merely slow, and
 * the error names the port it chose (docs/runtime-custom.md §3).
 *
 * Cost: reading /proc/<pid>/net/tcp walks the kernel's connection hash (4-5 ms here, more with
 * many sockets: runtime-custom.md §5.1), so this runs a few times per start, never per call.
 */
import { readFile, readdir, readlink } from 'node:fs/promises';
import { processTree } from './process-tree.js';

/** TCP_LISTEN in the `st` column. */
const LISTEN = '0A';
/** At most this many fds are looked at per process (the runtime API's peer check does the same). */
const MAX_FDS = 1024;

async function socketInodes(pid: number): Promise<string[]> {
  let fds: string[];
  try {
    fds = (await readdir(`/proc/${pid}/fd`)).slice(0, MAX_FDS);
  } catch {
    return [];
  }
  const inodes: string[] = [];
  for (const fd of fds) {
    try {
      const match = /^socket:\[(\d+)\]$/.exec(await readlink(`/proc/${pid}/fd/${fd}`));
      if (match?.[1] !== undefined) inodes.push(match[1]);
    } catch {
      // closed meanwhile
    }
  }
  return inodes;
}

/** Ports (ascending) the tree of `pid` listens on; [] when it listens on none, or is gone. */
export async function listeningPorts(pid: number): Promise<number[]> {
  const inodes = new Set((await Promise.all(processTree(pid).map(socketInodes))).flat());
  if (inodes.size === 0) return [];
  const ports = new Set<number>();
  for (const table of ['tcp', 'tcp6']) {
    let text: string;
    try {
      text = await readFile(`/proc/${pid}/net/${table}`, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      const [local, state, inode] = [fields[1], fields[3], fields[9]];
      if (local === undefined || state !== LISTEN || inode === undefined || !inodes.has(inode)) continue;
      const port = Number.parseInt(local.slice(local.lastIndexOf(':') + 1), 16);
      if (Number.isInteger(port)) ports.add(port);
    }
  }
  return [...ports].sort((a, b) => a - b);
}
