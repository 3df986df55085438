/**
 * The channel between the gateway and one Node.js function process: a socket pair, the child's
 * fd 3 (`stdio[3]: 'pipe'` in ../fork-runner.ts), carrying length-prefixed JSON records with raw
 * bytes (./channel-codec.ts). Both ends use this class: the gateway on `child.stdio[3]`, the
 * function process on `new Socket({ fd: 3 })`.
 *
 * What Node's IPC channel gave that this keeps: messages in order, one write for a batch (an
 * array: ./ipc-batch.ts), a callback once a write is done or failed, and an end the other side
 * sees when this side's process dies (`onClose`: the function process kills its group then, as
 * it did on 'disconnect'). What it adds: a bound on every message (DEFAULT_MAX_MESSAGE_BYTES),
 * so a function writing to its fd 3 itself cannot make the gateway buffer without end.
 */
import type { Duplex } from 'node:stream';
import type { SendCallback } from './ipc-batch.js';
import { ChannelCodecError, DEFAULT_MAX_MESSAGE_BYTES, MessageDecoder, encodeMessage } from './channel-codec.js';

/** A write of several buffers up to this size is made one buffer first. */
const COPY_BATCH_BYTES = 64 * 1024;

/** The file descriptor the channel has in the function process. */
export const CHANNEL_FD = 3;

export interface FunctionChannelHandlers {
  /** Each message read, in order, as parsed (the receiver checks its shape). */
  onMessage: (message: unknown) => void;
  /** What was read is not a record stream (ChannelCodecError); the channel is closed. */
  onMalformed?: (error: ChannelCodecError) => void;
  /** The other side closed, or the socket failed; called once. */
  onClose?: (error: Error | undefined) => void;
}

export class FunctionChannel<Out extends object> {
  readonly #socket: Duplex;
  readonly #decoder: MessageDecoder;
  #handlers: FunctionChannelHandlers;
  #closed = false;

  constructor(socket: Duplex, handlers: FunctionChannelHandlers, maxMessageBytes = DEFAULT_MAX_MESSAGE_BYTES) {
    this.#socket = socket;
    this.#handlers = handlers;
    this.#decoder = new MessageDecoder(maxMessageBytes);
    socket.on('data', (chunk: Buffer) => this.#read(chunk));
    // Without an 'error' listener an EPIPE would be thrown from the event loop.
    socket.on('error', (error: Error) => this.#close(error));
    socket.on('close', () => this.#close(undefined));
    socket.on('end', () => this.#close(undefined));
  }

  /** True until either side closed it. */
  get connected(): boolean {
    return !this.#closed && this.#socket.writable;
  }

  /** Hand the channel's messages to someone else (a spare process becoming an instance). */
  setHandlers(handlers: FunctionChannelHandlers): void {
    this.#handlers = handlers;
  }

  /** Write one message or a batch, in one write; `callback` once it is written or failed. */
  send(payload: Out | readonly Out[], callback: SendCallback): void {
    if (!this.connected) {
      callback(new Error('the function channel is closed'));
      return;
    }
    let buffers: Buffer[];
    try {
      buffers = Array.isArray(payload) ? (payload as readonly Out[]).flatMap((message) => encodeMessage(message)) : encodeMessage(payload);
    } catch (error) {
      callback(error as Error);
      return;
    }
    // A batch of small records is copied into one buffer: one plain write costs less than a
    // writev of many small buffers; records with large bytes keep them where they are.
    if (buffers.length > 1) {
      let total = 0;
      for (const buffer of buffers) total += buffer.byteLength;
      if (total <= COPY_BATCH_BYTES) buffers = [Buffer.concat(buffers, total)];
    }
    const last = buffers.length - 1;
    if (last > 0) this.#socket.cork();
    for (let i = 0; i < last; i += 1) this.#socket.write(buffers[i]);
    this.#socket.write(buffers[last], (error?: Error | null) => callback(error ?? null));
    if (last > 0) this.#socket.uncork();
  }

  /** Close this end (the other side sees its end). Idempotent. */
  close(): void {
    this.#socket.destroy();
    this.#close(undefined);
  }

  #read(chunk: Buffer): void {
    // Nothing is read after a malformed record (the socket is destroyed, the channel closed).
    if (this.#closed) return;
    let messages: unknown[];
    try {
      messages = this.#decoder.push(chunk);
    } catch (error) {
      this.#socket.destroy();
      this.#handlers.onMalformed?.(error as ChannelCodecError);
      this.#close(undefined);
      return;
    }
    for (const message of messages) this.#handlers.onMessage(message);
  }

  #close(error: Error | undefined): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#handlers.onClose?.(error);
  }
}
