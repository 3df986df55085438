/**
 * A 255 MiB PUBLISH to the embedded broker (gateway/broker/packet-size-guard.ts): refused at
 * its fixed header, so the broker's memory stays flat (without the guard aedes buffered it
 * whole: RSS 103 → 600 MB). The broker runs in a child process, measured from outside.
 */
import type { Socket } from 'node:net';
import { afterEach, describe, expect, test } from 'vitest';
import { DEFAULT_MAX_PACKET_BYTES } from '../../gateway/broker/embedded-broker.js';
import { roundTrip, forkBrokerChild, type BrokerChild } from '../fixtures/broker-process.js';
import { flood, rawConnect, remainingLength } from '../fixtures/mqtt-raw.js';
import { MB, vmRssBytes } from '../fixtures/proc-status.js';
import { waitFor } from '../fixtures/wait.js';

const children: BrokerChild[] = [];
const sockets: Socket[] = [];
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  await Promise.all(children.splice(0).map((child) => child.close()));
});


describe('embedded broker, packet size limit', () => {
  test('a 255 MiB publish is refused at its header: connection closed, RSS flat, others served', async () => {
    const broker = await forkBrokerChild();
    children.push(broker);
    const pid = broker.child.pid as number;
    await roundTrip(broker.url); // aedes's per-client machinery is in the baseline
    const before = await vmRssBytes(pid);

    const socket = await rawConnect(broker.port, 'huge');
    sockets.push(socket);
    let socketError: unknown;
    socket.on('error', (error) => (socketError = error));
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    // PUBLISH QoS 0 announcing 255 MiB, then the body streamed in 1 MiB pieces (never whole in
    // this process) until the broker hangs up.
    const topic = Buffer.from([0, 4, ...Buffer.from('huge')]);
    const announced = 255 * MB;
    socket.write(Buffer.concat([Buffer.from([0x30]), remainingLength(announced), topic]));
    const written = await flood(socket, Buffer.alloc(MB, 0x61), announced / MB);
    await closed;

    await waitFor(async () => expect((await broker.stats()).events['oversizePacket']).toBe(1));
    const after = await vmRssBytes(pid);
    console.log(
      `255 MiB publish: ${written} MiB written before the close (${String((socketError as Error | undefined)?.message ?? 'no error')}); ` +
        `broker VmRSS ${(before / MB).toFixed(1)} -> ${(after / MB).toFixed(1)} MB (limit ${DEFAULT_MAX_PACKET_BYTES / MB} MiB)`,
    );
    expect(written).toBeLessThan(announced / MB);
    expect(after - before).toBeLessThanOrEqual(16 * MB);

    await roundTrip(broker.url);
    expect(broker.alive()).toBe(true);
  });
});
