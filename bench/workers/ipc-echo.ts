/**
 * Bench worker for ipc-ab.ts: a stand-in for a function process's IPC side (the runner), which
 * answers every invoke message with a result carrying the event's bytes, as the echo function
 * does: as Buffers (`advanced`, what child/ipc-messages.ts does), or as base64 (`json`, and
 * `advanced-string`, which also sends each reply as one JSON string).
 */
const mode = process.argv[2] ?? 'json';

interface Invoke {
  callId: number;
  event: Buffer | string;
}

process.on('message', (raw: Invoke | Invoke[] | string) => {
  const payload = typeof raw === 'string' ? (JSON.parse(raw) as Invoke | Invoke[]) : raw;
  const messages = Array.isArray(payload) ? payload : [payload];
  const replies = messages.map((message) => {
    const text = typeof message.event === 'string';
    const event = text ? Buffer.from(message.event as string, 'base64') : Buffer.from(message.event as Buffer);
    return { type: 'result', callId: message.callId, payload: text ? event.toString('base64') : event, binary: true };
  });
  const out = replies.length === 1 ? replies[0] : replies;
  process.send?.(mode === 'advanced-string' ? JSON.stringify(out) : (out as object));
});
process.on('disconnect', () => process.exit(0));
