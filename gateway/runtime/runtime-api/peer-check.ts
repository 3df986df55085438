/**
 * Who is on the other end of a loopback TCP connection, so an instance's runtime API serves
 * that instance only (docs/runtime-custom.md §5.1).
 *
 * fc-runtime-go-sdk speaks plain HTTP to FC_RUNTIME_API (host:port) and sends nothing we could
 * check (fc/runtime_api_client.go: a User-Agent, no credential), and any local user can connect
 * to a loopback port. The kernel knows who connected, though: on Linux the peer's socket is a
 * line of /proc/net/tcp (or tcp6, for an IPv6 socket reaching 127.0.0.1 as ::ffff:127.0.0.1)
 * whose local port is our remote port and whose remote end is our listening address; that line
 * carries the socket's owner uid (the creator's fsuid) and inode. A connection is accepted when
 * the uid is the function's and the inode is held by a process of the instance's tree (its fds,
 * /proc/<pid>/fd), which also keeps out another instance of the same function.
 *
 * Cost, measured on this 2-core box (bench/containment.ts): ~4-5 ms per connection with the
 * few sockets it has, since the kernel walks its whole established-connection hash (sized from
 * RAM: 24 GB here) whatever the socket count; ~9 ms with 2,000 more sockets, ~22 ms with 10,000.
 * The read runs on libuv's pool, not the event loop, and once per connection: the SDK keeps one
 * kept-alive connection per instance. The fd walk is ~0.1 ms for a Node process (18 fds).
 * Figures: docs/runtime-custom.md §5.1.
 */
import { readlinkSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import type { Socket } from 'node:net';

export interface PeerRule {
  /** The uid the peer's socket must belong to: the function's, or the gateway's when it has none. */
  uid: number;
  /** Processes allowed to hold the peer's socket: the instance's process tree, read per connection. */
  pids: () => readonly number[];
}

export type PeerVerdict = { ok: true } | { ok: false; reason: string };

/** `127.0.0.1` as /proc/net/tcp prints it (a little-endian u32), and as tcp6 prints its v4-mapped form. */
function procAddress(ip: string, v6: boolean): string | undefined {
  const parts = ip.replace(/^::ffff:/, '').split('.');
  if (parts.length !== 4) return undefined;
  const v4 = parts
    .map((part) => Number(part).toString(16).toUpperCase().padStart(2, '0'))
    .reverse()
    .join('');
  return v6 ? `0000000000000000FFFF0000${v4}` : v4;
}

function procPort(port: number): string {
  return port.toString(16).toUpperCase().padStart(4, '0');
}

/** The owner uid and inode of the socket at `peer` connected to `us`, from one /proc/net file. */
async function findSocket(
  file: string,
  peer: { address: string; port: number },
  us: { address: string; port: number },
  v6: boolean,
): Promise<{ uid: number; inode: string } | undefined> {
  const peerAddress = procAddress(peer.address, v6);
  const ourAddress = procAddress(us.address, v6);
  if (peerAddress === undefined || ourAddress === undefined) return undefined;
  const local = `${peerAddress}:${procPort(peer.port)}`;
  const remote = `${ourAddress}:${procPort(us.port)}`;
  // Off the event loop: the kernel's side is several ms (below).
  const text = await readFile(file, 'latin1');
  // `sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode`
  for (const line of text.split('\n')) {
    const fields = line.trim().split(/\s+/);
    if (fields[1] === local && fields[2] === remote && fields[7] !== undefined && fields[9] !== undefined) {
      return { uid: Number(fields[7]), inode: fields[9] };
    }
  }
  return undefined;
}

/**
 * Descriptors looked at per check, at most: a Go or Node.js process holds 10-30 (a Node
 * process: 18). Each readlink is inline, 3-10 µs (the latter at load 5 on 2 cores), so a
 * function holding thousands of fds cannot stall the gateway's event loop for more than
 * ~10 ms per connection; past the bound its connection is refused.
 */
const MAX_FDS_CHECKED = 1024;

/** True when one of `pids` has `socket:[inode]` open. */
async function heldBy(pids: readonly number[], inode: string, procRoot: string): Promise<boolean> {
  const wanted = `socket:[${inode}]`;
  let budget = MAX_FDS_CHECKED;
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = await readdir(`${procRoot}/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      if (--budget < 0) return false;
      try {
        if (readlinkSync(`${procRoot}/${pid}/fd/${fd}`) === wanted) return true;
      } catch {
        // Closed meanwhile.
      }
    }
  }
  return false;
}

/** Decide on an accepted connection to 127.0.0.1 before a byte of it is read. */
export async function checkLoopbackPeer(socket: Socket, rule: PeerRule, procRoot = '/proc'): Promise<PeerVerdict> {
  const { remoteAddress, remotePort, localAddress, localPort } = socket;
  if (remoteAddress === undefined || remotePort === undefined || localAddress === undefined || localPort === undefined) {
    return { ok: false, reason: 'the connection closed before it was checked' };
  }
  const peer = { address: remoteAddress, port: remotePort };
  const us = { address: localAddress, port: localPort };
  let found: { uid: number; inode: string } | undefined;
  try {
    found =
      (await findSocket(`${procRoot}/net/tcp`, peer, us, false)) ?? (await findSocket(`${procRoot}/net/tcp6`, peer, us, true));
  } catch (error) {
    return { ok: false, reason: `cannot read ${procRoot}/net/tcp: ${(error as Error).message}` };
  }
  const from = `${remoteAddress}:${remotePort}`;
  if (found === undefined) return { ok: false, reason: `no socket found for ${from} (closed, or not on this host)` };
  if (found.uid !== rule.uid) return { ok: false, reason: `${from} belongs to uid ${found.uid}, not the function's ${rule.uid}` };
  if (!(await heldBy(rule.pids(), found.inode, procRoot))) {
    return { ok: false, reason: `${from} (uid ${found.uid}) is not held by a process of this instance` };
  }
  return { ok: true };
}
