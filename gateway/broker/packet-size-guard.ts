/**
 * Refuse an MQTT packet by the size its fixed header announces, before anyone buffers its body.
 *
 * Why: aedes hands every socket read to mqtt-packet, whose parser appends the bytes of a packet
 * until the packet is complete. Nothing bounds that: a 255 MiB PUBLISH to the embedded broker
 * raised the gateway's RSS from 103 to 600 MB. MQTT 3.1.1 has no size limit a server can
 * announce (MQTT 5's Maximum Packet Size is not in 3.1.1), so like Mosquitto's
 * `max_packet_size` the broker closes the connection of a client that sends a larger packet.
 *
 * How: every packet starts with a fixed header (MQTT 3.1.1 §2.2): one byte of type and flags,
 * then the Remaining Length, a variable-length integer of 1-4 bytes, 7 bits each, least
 * significant first, the top bit saying "more follows" (§2.2.3). The scanner reads those few
 * bytes as they arrive, then skips the announced body by arithmetic: it never copies or keeps a
 * chunk, and a large packet costs one subtraction per socket read.
 */
import type { Socket } from 'node:net';

/** §2.2.3: at most 4 bytes of Remaining Length, so at most 268,435,455 (256 MiB - 1). */
const MAX_LENGTH_BYTES = 4;

export type PacketSizeViolation =
  /** A fixed header announced a packet of `packetBytes` (header included), over the limit. */
  | { kind: 'oversize'; packetBytes: number }
  /** A Remaining Length whose 4th byte still says "more follows" (§2.2.3). */
  | { kind: 'malformedLength' };

/**
 * Follows the packet boundaries of one connection's inbound byte stream. Feed it every chunk
 * in order; after the first violation it stops scanning (the caller closes the connection).
 */
export class PacketSizeScanner {
  readonly #maxPacketBytes: number;
  /** Body bytes of the current packet not seen yet; meaningful once its header is complete. */
  #bodyLeft = 0;
  /** Inside a fixed header: bytes of it seen so far (0: the next byte starts a packet). */
  #headerBytes = 0;
  #length = 0;
  #multiplier = 1;
  #violation: PacketSizeViolation | undefined;

  /** @param maxPacketBytes largest packet allowed, fixed header included (MQTT 5's "packet size"). */
  constructor(maxPacketBytes: number) {
    this.#maxPacketBytes = maxPacketBytes;
  }

  /** Scan the next bytes; returns the violation the stream committed, if any (then and after). */
  scan(chunk: Uint8Array): PacketSizeViolation | undefined {
    if (this.#violation !== undefined) return this.#violation;
    let at = 0;
    const end = chunk.length;
    while (at < end) {
      if (this.#bodyLeft > 0) {
        const skip = Math.min(this.#bodyLeft, end - at);
        this.#bodyLeft -= skip;
        at += skip;
        continue;
      }
      const byte = chunk[at++] as number;
      if (this.#headerBytes === 0) {
        // The type-and-flags byte; the Remaining Length starts with the next one.
        this.#headerBytes = 1;
        this.#length = 0;
        this.#multiplier = 1;
        continue;
      }
      this.#headerBytes += 1;
      this.#length += (byte & 0x7f) * this.#multiplier;
      this.#multiplier *= 128;
      if ((byte & 0x80) !== 0) {
        if (this.#headerBytes - 1 === MAX_LENGTH_BYTES) return (this.#violation = { kind: 'malformedLength' });
        continue;
      }
      const packetBytes = this.#headerBytes + this.#length;
      if (packetBytes > this.#maxPacketBytes) return (this.#violation = { kind: 'oversize', packetBytes });
      this.#bodyLeft = this.#length;
      this.#headerBytes = 0;
    }
    return undefined;
  }
}

/**
 * Scan what `socket` receives as it arrives, ahead of every reader: the socket's own `push`
 * (what Node calls for each read from the kernel, at most 64 KiB) is wrapped on this one
 * instance, so a violating chunk is never buffered, not even in the socket's readable buffer.
 * On a violation `onViolation` is told, the socket destroyed (without an error: the report is
 * `onViolation`'s) and the chunk dropped, with any whole packets ahead of the violating header
 * in it: the connection ends for a protocol violation, as Mosquitto ends it for
 * `max_packet_size`, and what the client sent just before is not promised either way. The socket stays what it was for its owner: same object, options, NODELAY, buffers.
 */
export function guardPacketSize(socket: Socket, maxPacketBytes: number, onViolation: (violation: PacketSizeViolation) => void): void {
  const scanner = new PacketSizeScanner(maxPacketBytes);
  const push = socket.push.bind(socket);
  socket.push = (chunk: unknown, encoding?: BufferEncoding): boolean => {
    // null is the end of the stream; sockets without setEncoding() only ever push Buffers.
    if (chunk instanceof Uint8Array && !socket.destroyed) {
      const violation = scanner.scan(chunk);
      if (violation !== undefined) {
        try {
          // First: the report may read the socket's peer address, gone once it is destroyed.
          onViolation(violation);
        } finally {
          socket.destroy();
        }
        return false;
      }
    }
    return push(chunk, encoding);
  };
}
