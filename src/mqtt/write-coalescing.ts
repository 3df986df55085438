/**
 * One socket write per event-loop turn for an MQTT.js client, instead of one per packet.
 *
 * Why: MQTT.js writes each packet on its own (mqtt-packet corks the socket for one packet and
 * uncorks it on the next tick). A gateway answering 64 calls in flight writes a PUBACK and a reply
 * per call: two `writev` syscalls per call, each also waking the broker. Those syscalls were the
 * gateway's largest cost through Mosquitto (22 % of its busy time at 64 in flight, BENCHMARKS.md).
 * Corking the socket at the first packet of a turn and uncorking it in `setImmediate` — after
 * the I/O callbacks and promise jobs of that turn, before the loop waits again — sends all the
 * packets the turn produced in one write (strace: ~50 packets a write at 64 in flight; a lone
 * call's PUBACK and reply in one). Nothing waits for a timer: the write leaves in the same loop
 * iteration. Measured (BENCHMARKS.md, "write coalescing"): the gateway's CPU per call through
 * Mosquitto 10-15 % lower at 1 and at 64 in flight. Used by the gateway's link only: on
 * FCClient it cost client CPU at 1 in flight and gained nothing at 64.
 *
 * TCP_NODELAY stays on (tcp-nodelay.ts): coalescing decides what goes in one write, Nagle would
 * decide when a write may leave, which is what costs 40 ms.
 */
import { Socket } from 'node:net';
import type { MqttClient } from 'mqtt';

const enabled = new WeakSet<MqttClient>();

/** Coalesce `client`'s writes per event-loop turn, across reconnects. Idempotent. */
export function enableWriteCoalescing(client: MqttClient): void {
  if (enabled.has(client)) return;
  enabled.add(client);
  let corked: Socket | undefined;
  const uncork = (): void => {
    const socket = corked;
    corked = undefined;
    // Writable.end() and destroy() uncork by themselves; uncork() on a socket not corked is a no-op.
    socket?.uncork();
  };
  // `packetsend` is emitted synchronously before each packet is written (public API; the same
  // hook as tcp-nodelay.ts), on the stream of the current connection.
  client.on('packetsend', () => {
    if (corked !== undefined) return;
    const stream: unknown = client.stream;
    if (!(stream instanceof Socket)) return;
    corked = stream;
    stream.cork();
    setImmediate(uncork);
  });
}
