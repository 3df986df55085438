/**
 * The body of `POST /2020-11-11/runtime/invocation/{id}/error`, as fc-runtime-go-sdk sends it
 * (fc/messages/messages.go): `{"errorMessage", "errorType", "stackTrace"}`, where stackTrace
 * frames are objects `{path, line, label}` (other clients may send strings).
 *
 * Handled or not: the SDK sends a stack trace only when the handler panicked (fcPanicResponse);
 * a handler that returned an error sends none (fcErrorResponse). So an error with a stack
 * trace is UnhandledInvocationError, one without is HandledInvocationError, the Go analog of
 * a Node.js `callback(err)`.
 */
import type { FunctionErrorFields } from 'edgefc/errors';

/** errorMessage of an unreadable body: enough to see what came, no more. */
const MAX_RAW_TEXT = 4096;

export function parseErrorBody(body: Buffer): { fields: FunctionErrorFields; panicked: boolean } {
  const text = body.toString('utf8');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    return {
      fields: { errorMessage: text.slice(0, MAX_RAW_TEXT) || 'the function reported an error with an empty body', errorType: 'FunctionError' },
      panicked: false,
    };
  }
  const record = parsed as Record<string, unknown>;
  const fields: FunctionErrorFields = {
    errorMessage: typeof record['errorMessage'] === 'string' ? record['errorMessage'] : text.slice(0, MAX_RAW_TEXT),
    errorType: typeof record['errorType'] === 'string' && record['errorType'] !== '' ? record['errorType'] : 'FunctionError',
  };
  const trace = record['stackTrace'];
  if (Array.isArray(trace) && trace.length > 0) {
    fields.stackTrace = trace.map(frameText);
    return { fields, panicked: true };
  }
  return { fields, panicked: false };
}

function frameText(frame: unknown): string {
  if (typeof frame === 'string') return frame;
  if (typeof frame === 'object' && frame !== null) {
    const f = frame as Record<string, unknown>;
    const label = typeof f['label'] === 'string' ? f['label'] : '?';
    const line = typeof f['line'] === 'number' ? String(f['line']) : '?';
    const where = typeof f['path'] === 'string' ? ` (${f['path']}:${line})` : '';
    return `${label}${where}`;
  }
  return String(frame);
}
