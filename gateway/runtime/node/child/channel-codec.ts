/**
 * How messages between the gateway and a Node.js function process are laid out on their channel
 * (a socket pair on the child's fd 3: ./function-channel.ts). Each message is one record:
 *
 *     uint32 LE  length of what follows (header length field + header + bytes)
 *     uint32 LE  header length
 *     header     the message as JSON (UTF-8), minus its bytes field
 *     bytes      the message's one Buffer field, raw, if it has one; the header then names the
 *                field in `"$bytes"`
 *
 * Why not Node's IPC channel (`fork` with `serialization: 'advanced'`): V8's structured clone
 * costs a Serializer and a Deserializer per message and Node's channel adds its own framing and
 * callbacks. Through the pool a 64-byte call takes 0.82× the time and the CPU it took there
 * (0.78× / 0.83× at 4 KiB), and a Sync call at 1 in flight ~0.88× (BENCHMARKS.md, "the function
 * hop on a socket pair"). JSON alone (Node's default channel) needs base64 for the bytes: 4×
 * slower at 64 KiB. Small bytes are copied into the header's buffer (INLINE_BYTES): one buffer,
 * one plain write, was most of the gain over a writev of prefix, header and bytes.
 *
 * The decoder trusts nothing: a length past `maxMessageBytes`, a header length that does not fit,
 * a header that is not a JSON object, or a `$bytes` that is not a field name is a ChannelCodecError,
 * after which the stream cannot be resynchronized (the instance is stopped: node-instance.ts).
 */

/** The largest record either side sends: a 6 MiB event or result (protocol §7.2) and its header, with room. */
export const DEFAULT_MAX_MESSAGE_BYTES = 8 * 1024 * 1024;

const PREFIX_BYTES = 8;
/** Bytes up to this size travel in the header's buffer: a copy is cheaper than a second buffer to write. */
const INLINE_BYTES = 4096;
const BYTES_FIELD = '$bytes';

export class ChannelCodecError extends Error {
  override readonly name = 'ChannelCodecError';
}

/**
 * One message as the buffers to write, in order: one, or two when its bytes are large. At most
 * one top-level field may hold bytes (a Buffer or Uint8Array); nested bytes are not supported.
 */
export function encodeMessage(message: object): Buffer[] {
  const fields = message as Record<string, unknown>;
  let bytesField: string | undefined;
  for (const key in fields) {
    if (!(fields[key] instanceof Uint8Array)) continue;
    if (bytesField !== undefined) throw new ChannelCodecError(`a message may carry one bytes field; it has ${bytesField} and ${key}`);
    bytesField = key;
  }
  if (bytesField === undefined) return [withPrefix(JSON.stringify(fields), 0, undefined)];
  const header: Record<string, unknown> = {};
  for (const key in fields) if (key !== bytesField) header[key] = fields[key];
  header[BYTES_FIELD] = bytesField;
  const bytes = fields[bytesField] as Uint8Array;
  // Small bytes are copied in (one buffer, one plain write); large ones are written from where they are.
  if (bytes.byteLength <= INLINE_BYTES) return [withPrefix(JSON.stringify(header), bytes.byteLength, bytes)];
  return [withPrefix(JSON.stringify(header), bytes.byteLength, undefined), Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)];
}

/** The prefix and the header in one buffer, and `inline` after them; `bytesLength` bytes in all follow the header. */
function withPrefix(header: string, bytesLength: number, inline: Uint8Array | undefined): Buffer {
  const headerLength = Buffer.byteLength(header);
  const record = Buffer.allocUnsafe(PREFIX_BYTES + headerLength + (inline === undefined ? 0 : bytesLength));
  record.writeUInt32LE(4 + headerLength + bytesLength, 0);
  record.writeUInt32LE(headerLength, 4);
  record.write(header, PREFIX_BYTES);
  if (inline !== undefined) record.set(inline, PREFIX_BYTES + headerLength);
  return record;
}

/**
 * Turns the chunks of a stream back into messages. A message that arrived within one chunk is
 * parsed in place (its bytes are a view of that chunk: copy them to keep them apart from it); one
 * spread over several chunks is assembled once, when its last chunk is there.
 */
export class MessageDecoder {
  readonly #maxMessageBytes: number;
  /** Chunks of an incomplete record, and their total length. */
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  /** Length of the record being assembled (prefix included), once its prefix is in. */
  #needed = 0;
  #failed = false;

  constructor(maxMessageBytes = DEFAULT_MAX_MESSAGE_BYTES) {
    this.#maxMessageBytes = maxMessageBytes;
  }

  /** The messages `chunk` completes, in order. Throws ChannelCodecError on a malformed stream, then on every call. */
  push(chunk: Buffer): unknown[] {
    if (this.#failed) throw new ChannelCodecError('the stream was already malformed');
    try {
      return this.#push(chunk);
    } catch (error) {
      this.#failed = true;
      throw error;
    }
  }

  #push(chunk: Buffer): unknown[] {
    const messages: unknown[] = [];
    let data = chunk;
    if (this.#pendingBytes > 0) {
      this.#pending.push(chunk);
      this.#pendingBytes += chunk.byteLength;
      if (this.#needed === 0 && this.#pendingBytes >= PREFIX_BYTES) this.#needed = this.#recordLength(Buffer.concat(this.#pending, PREFIX_BYTES), 0);
      if (this.#needed === 0 || this.#pendingBytes < this.#needed) return messages;
      data = Buffer.concat(this.#pending, this.#pendingBytes);
      this.#pending = [];
      this.#pendingBytes = 0;
      this.#needed = 0;
    }
    let offset = 0;
    while (data.byteLength - offset >= PREFIX_BYTES) {
      const length = this.#recordLength(data, offset);
      if (data.byteLength - offset < length) break;
      messages.push(this.#decode(data, offset, length));
      offset += length;
    }
    if (offset < data.byteLength) {
      const rest = data.subarray(offset);
      this.#pending = [rest];
      this.#pendingBytes = rest.byteLength;
      this.#needed = rest.byteLength >= PREFIX_BYTES ? this.#recordLength(rest, 0) : 0;
    }
    return messages;
  }

  /** The whole record's length, prefix included, read from its prefix at `offset`. */
  #recordLength(data: Buffer, offset: number): number {
    const length = data.readUInt32LE(offset);
    if (length > this.#maxMessageBytes) throw new ChannelCodecError(`a message of ${length} bytes is over the limit of ${this.#maxMessageBytes}`);
    const headerLength = data.readUInt32LE(offset + 4);
    if (headerLength + 4 > length) throw new ChannelCodecError(`a header of ${headerLength} bytes does not fit a message of ${length}`);
    return 4 + length;
  }

  #decode(data: Buffer, offset: number, length: number): unknown {
    const headerLength = data.readUInt32LE(offset + 4);
    const headerStart = offset + PREFIX_BYTES;
    let message: unknown;
    try {
      message = JSON.parse(data.toString('utf8', headerStart, headerStart + headerLength));
    } catch (error) {
      throw new ChannelCodecError(`a header is not JSON: ${(error as Error).message}`);
    }
    if (typeof message !== 'object' || message === null || Array.isArray(message)) throw new ChannelCodecError('a header is not a JSON object');
    const record = message as Record<string, unknown>;
    const field = record[BYTES_FIELD];
    if (field === undefined) return record;
    if (typeof field !== 'string' || field === BYTES_FIELD || field === '__proto__') throw new ChannelCodecError('a header names no valid bytes field');
    delete record[BYTES_FIELD];
    record[field] = data.subarray(headerStart + headerLength, offset + length);
    return record;
  }
}
