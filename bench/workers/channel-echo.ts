/**
 * Bench worker for hop-ab.ts: the floor of the function hop, a process that answers every
 * invoke record on its channel (fd 3, gateway/runtime/node/child/function-channel.ts) with a
 * result carrying the event's bytes, as the echo function does, and nothing else (no handler,
 * context, console capture or batching).
 */
import { Socket } from 'node:net';
import { CHANNEL_FD, FunctionChannel } from '../../gateway/runtime/node/child/function-channel.js';

const channel = new FunctionChannel<object>(new Socket({ fd: CHANNEL_FD, readable: true, writable: true }), {
  onMessage: (message) => {
    const { callId, event } = message as { callId: number; event: Buffer };
    channel.send({ type: 'result', callId, payload: event, binary: true }, () => undefined);
  },
  onClose: () => process.exit(0),
});
