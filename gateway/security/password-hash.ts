/**
 * Password hashes in the access file: PBKDF2-HMAC-SHA512, salted, written in Mosquitto 2's own
 * `$7$ITERATIONS$SALT$HASH` format (base64 salt and hash, as mosquitto_passwd writes them).
 *
 * Why PBKDF2 and not scrypt: the access file is the one source of truth for the embedded broker
 * and for a Mosquitto configured by `edgefc broker-config mosquitto`, and Mosquitto 2 verifies
 * only this format. A second, scrypt hash beside it would not make a stolen file any harder to
 * crack (an attacker takes the weaker of the two), so there is one hash, made slow enough:
 * 210,000 iterations (OWASP's 2023 figure for PBKDF2-SHA512) take ~90 ms on one core of the
 * 2-core edge box, paid once per CONNECT (Mosquitto 2.0.11 accepts any iteration count; its own
 * mosquitto_passwd writes 101). Verification runs on libuv's thread pool, never on the event loop.
 */
import { pbkdf2, randomBytes, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';

const pbkdf2Async = promisify(pbkdf2);

export const PASSWORD_HASH_ITERATIONS = 210_000;
const SALT_BYTES = 12; // mosquitto_passwd's salt length
const HASH_BYTES = 64; // SHA-512's output
/** Refuse hashes that would make one CONNECT cost more than ~1 s of CPU, or are too weak to matter. */
const MIN_ITERATIONS = 1_000;
const MAX_ITERATIONS = 5_000_000;
const HASH_PATTERN = /^\$7\$(\d+)\$([A-Za-z0-9+/]+={0,2})\$([A-Za-z0-9+/]+={0,2})$/;

export interface ParsedPasswordHash {
  iterations: number;
  salt: Buffer;
  hash: Buffer;
}

/** Parse a `$7$` hash; undefined when it is not one this module can verify. */
export function parsePasswordHash(text: string): ParsedPasswordHash | undefined {
  const match = HASH_PATTERN.exec(text);
  if (match === null) return undefined;
  const iterations = Number(match[1]);
  const salt = Buffer.from(match[2] as string, 'base64');
  const hash = Buffer.from(match[3] as string, 'base64');
  if (!Number.isSafeInteger(iterations) || iterations < MIN_ITERATIONS || iterations > MAX_ITERATIONS) return undefined;
  if (salt.length < 8 || hash.length !== HASH_BYTES) return undefined;
  return { iterations, salt, hash };
}

export async function hashPassword(password: string, iterations = PASSWORD_HASH_ITERATIONS): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const hash = await pbkdf2Async(password, salt, iterations, HASH_BYTES, 'sha512');
  return `$7$${iterations}$${salt.toString('base64')}$${hash.toString('base64')}`;
}

/** Constant-time comparison of the derived key; false for a hash it cannot parse. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parsed = parsePasswordHash(stored);
  if (parsed === undefined) return false;
  const derived = await pbkdf2Async(password, parsed.salt, parsed.iterations, HASH_BYTES, 'sha512');
  return timingSafeEqual(derived, parsed.hash);
}
