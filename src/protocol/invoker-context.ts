/**
 * invokerContext encoding and strict validation (docs/protocol.md §5).
 *
 * Node's `Buffer.from(s, 'base64')` never throws: it skips characters outside the alphabet and
 * ignores trailing garbage, so "eyJ9!!!" decodes as if it were "eyJ9". We check the shape first
 * and then that re-encoding round-trips, which also rejects non-canonical padding bits.
 */
import { InvalidArgumentError } from '../errors.js';
import { MAX_INVOKER_CONTEXT_BYTES } from './limits.js';

const BASE64_PATTERN = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
/** A base64 string this long always decodes past the cap (4 chars → 3 bytes). */
const MAX_ENCODED_LENGTH = Math.ceil(MAX_INVOKER_CONTEXT_BYTES / 3) * 4;

export type InvokerContext = Record<string, unknown>;

/** Encode an object as the wire's invokerContext string (§5.1). */
export function encodeInvokerContext(value: InvokerContext): string {
  return Buffer.from(JSON.stringify(value), 'utf8').toString('base64');
}

/** Decode and validate an invokerContext string (§5.1, §5.2). Throws InvalidArgumentError. */
export function decodeInvokerContext(encoded: string): InvokerContext {
  if (encoded.length === 0) throw new InvalidArgumentError('invokerContext is empty; omit it instead (§5.1)');
  if (encoded.length > MAX_ENCODED_LENGTH) {
    throw new InvalidArgumentError(`invokerContext is larger than ${MAX_INVOKER_CONTEXT_BYTES} bytes (§5.2)`);
  }
  if (!BASE64_PATTERN.test(encoded)) {
    throw new InvalidArgumentError('invokerContext is not valid base64: standard alphabet, "=" padding, no whitespace (§5.1)');
  }
  const bytes = Buffer.from(encoded, 'base64');
  if (bytes.toString('base64') !== encoded) {
    throw new InvalidArgumentError('invokerContext is not canonical base64 (§5.1)');
  }
  if (bytes.length > MAX_INVOKER_CONTEXT_BYTES) {
    throw new InvalidArgumentError(`invokerContext decodes to ${bytes.length} bytes; the limit is ${MAX_INVOKER_CONTEXT_BYTES} (§5.2)`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (cause) {
    throw new InvalidArgumentError('invokerContext does not decode to UTF-8 JSON (§5.1)', { cause });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new InvalidArgumentError('invokerContext must decode to a JSON object (§5.2)');
  }
  return parsed as InvokerContext;
}
