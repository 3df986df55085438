/**
 * Drop QoS 0 messages for subscribers that are not reading, instead of letting them stall the
 * publisher. MQTT allows it (QoS 0 is "at most once"); Mosquitto does the same when a client's
 * queue is full.
 *
 * Why aedes needs this: it calls a publisher's PUBLISH done only after the message was written to
 * every subscriber, and a write that returns false (socket past its 16 KiB high-water mark) waits
 * for 'drain'. Until then aedes stops reading that publisher's socket. One frozen subscriber
 * therefore freezes every publisher that sends to it, for up to `drainTimeout`. The limit is the
 * socket's `writableHighWaterMark` (the embedded broker sets it to 256 KiB), so a write we let
 * through never crosses it and never waits for 'drain'.
 *
 * The check must count bytes already forwarded but not yet written: aedes forwards a whole
 * socket read (hundreds of messages) synchronously and writes each in its own setImmediate, so
 * `writableLength` alone lags. Measured: checking only `writableNeedDrain`, 10 publishers at one
 * frozen subscriber all stalled in 1 of 3 runs after 54,000 messages with nothing dropped (the
 * whole burst passed the check before the first write).
 */
import type { AedesPublishPacket, Client } from 'aedes';

export interface Qos0Shedder {
  /** aedes `authorizeForward`: returns the packet to deliver it, null to drop it. */
  readonly authorizeForward: (client: Client, packet: AedesPublishPacket) => AedesPublishPacket | null;
  /** QoS 0 messages dropped so far. */
  readonly dropped: number;
}

/** Bytes of a QoS 0 PUBLISH on the wire (MQTT 3.1.1 §3.3): fixed header <= 5, topic length 2. */
function publishSize(packet: AedesPublishPacket): number {
  const payload = typeof packet.payload === 'string' ? Buffer.byteLength(packet.payload) : packet.payload.length;
  return 7 + Buffer.byteLength(packet.topic) + payload;
}

/**
 * @param onSlow called once when a client starts losing messages (again after it caught up)
 */
export function createQos0Shedder(onSlow: (client: Client, bufferedBytes: number) => void): Qos0Shedder {
  /** Bytes forwarded to a client whose write has not run yet. */
  const pending = new WeakMap<Client, number>();
  const shedding = new WeakSet<Client>();
  let dropped = 0;

  const written = (client: Client, size: number): void => {
    pending.set(client, (pending.get(client) ?? 0) - size);
  };

  return {
    get dropped() {
      return dropped;
    },
    authorizeForward: (client, packet) => {
      if (packet.qos !== 0) return packet;
      const conn = client.conn;
      const size = publishSize(packet);
      const queued = conn.writableLength + (pending.get(client) ?? 0);
      // An idle socket takes any one message, however large: otherwise a message bigger than the
      // high-water mark could never be delivered.
      const slow = conn.writableNeedDrain || (queued > 0 && queued + size > conn.writableHighWaterMark);
      if (!slow) {
        shedding.delete(client);
        pending.set(client, (pending.get(client) ?? 0) + size);
        // aedes queues this packet's write with setImmediate right after we return, so this
        // immediate runs just before that write: `pending` is exact, not an estimate.
        setImmediate(written, client, size);
        return packet;
      }
      dropped++;
      if (!shedding.has(client)) {
        shedding.add(client);
        onSlow(client, queued);
      }
      return null;
    },
  };
}
