/**
 * FC's rule for what a handler returns (seed 000): a Buffer goes out as is, an object as JSON,
 * anything else as its string form; nothing (undefined/null) is an empty payload.
 */
import { MAX_RESULT_BYTES } from 'edgefc/protocol';
import type { FunctionErrorFields } from 'edgefc/errors';
import { safeString, toErrorFields } from './error-fields.js';

export type ConvertedResult =
  | { ok: true; payload: Buffer; binary: boolean }
  | { ok: false; error: FunctionErrorFields };

const EMPTY = Buffer.alloc(0);

export function convertResult(data: unknown, maxBytes = MAX_RESULT_BYTES): ConvertedResult {
  let payload: Buffer;
  let binary = false;
  if (Buffer.isBuffer(data)) {
    payload = data;
    binary = true;
  } else if (data instanceof Uint8Array) {
    payload = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    binary = true;
  } else if (data === undefined || data === null) {
    payload = EMPTY;
  } else if (typeof data === 'object') {
    let json: string | undefined;
    try {
      // undefined when a toJSON() returns undefined: treat as "no result".
      json = JSON.stringify(data);
    } catch (err) {
      // Circular structures, BigInt: the handler's result cannot be sent.
      return { ok: false, error: toErrorFields(err) };
    }
    payload = json === undefined ? EMPTY : Buffer.from(json);
  } else {
    payload = Buffer.from(safeString(data));
  }
  if (payload.length > maxBytes) {
    return {
      ok: false,
      error: {
        errorType: 'ResultTooLarge',
        errorMessage: `the function returned ${payload.length} bytes; the limit is ${maxBytes}`,
      },
    };
  }
  return { ok: true, payload, binary };
}
