/**
 * The runtime API's check of who connected (gateway/runtime/runtime-api/peer-check.ts), on real
 * loopback connections from a child process, as whatever user runs the tests: the owner uid of
 * the peer's socket from /proc/net/tcp, and its inode among the allowed processes' fds.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { checkLoopbackPeer, type PeerRule, type PeerVerdict } from '../../gateway/runtime/runtime-api/peer-check.js';

const children: ChildProcess[] = [];
const servers: net.Server[] = [];
afterEach(async () => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
  for (const server of servers.splice(0)) await new Promise((resolve) => server.close(resolve));
});

/** The verdict on one connection a child process makes, judged by `rule(childPid)`. */
async function verdictOn(rule: (childPid: number) => PeerRule): Promise<PeerVerdict> {
  let childPid = -1;
  const verdict = new Promise<PeerVerdict>((resolve) => {
    const server = net.createServer({ pauseOnConnect: true }, (socket) => {
      void checkLoopbackPeer(socket, rule(childPid)).then((result) => {
        socket.destroy();
        resolve(result);
      });
    });
    servers.push(server);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      // The child holds its connection open until it is killed (afterEach).
      const child = spawn(process.execPath, ['-e', `require('node:net').connect(${port}, '127.0.0.1'); setInterval(() => {}, 1000);`], { stdio: 'ignore' });
      children.push(child);
      childPid = child.pid ?? -1;
    });
  });
  return verdict;
}

const ownUid = process.getuid?.() ?? -1;

describe.skipIf(process.platform !== 'linux')('loopback peer check', () => {
  it("admits a connection whose socket is the uid's and held by an allowed process", async () => {
    expect(await verdictOn((pid) => ({ uid: ownUid, pids: () => [pid] }))).toEqual({ ok: true });
  });

  it('refuses one of another uid', async () => {
    const verdict = await verdictOn((pid) => ({ uid: ownUid + 1, pids: () => [pid] }));
    expect(verdict).toEqual({ ok: false, reason: expect.stringContaining(`belongs to uid ${ownUid}, not the function's ${ownUid + 1}`) });
  });

  it('refuses one of the right uid held by no allowed process (another instance of the function)', async () => {
    const verdict = await verdictOn(() => ({ uid: ownUid, pids: () => [process.pid] }));
    expect(verdict).toEqual({ ok: false, reason: expect.stringContaining('is not held by a process of this instance') });
  });
});
