/**
 * bcrypt hashes for nats-server, which verifies passwords in its config only as bcrypt (or in
 * the clear): the access file's `$7$` PBKDF2 hashes (password-hash.ts) mean nothing to it.
 * A principal that logs in through NATS therefore carries a second hash, `natsPassword`
 * (docs/security.md §10): made from the same password, at the same moment, by `edgefc users
 * add --nats`. bcrypt at cost 12 takes ~250 ms here, about what the `$7$` hash costs, so the
 * file is no easier to crack with both (an attacker takes the cheaper one).
 *
 * bcryptjs (pure JavaScript) writes `$2b$`; nats-server 2.9 recognises a bcrypt password by its
 * `$2a$` prefix, and for passwords under 72 bytes the two variants compute the same hash, so the
 * prefix is written as `$2a$`.
 */
import bcrypt from 'bcryptjs';
import { InvalidArgumentError } from 'edgefc/errors';

/** People's passwords. */
export const BCRYPT_COST = 12;
/**
 * Machine logins (the gateway's, functions'): 256 random or derived bits, which no stretching
 * makes harder to guess; nats-server checks bcrypt on every CONNECT, so keep it cheap.
 */
export const MACHINE_BCRYPT_COST = 6;

const BCRYPT_PATTERN = /^\$2[aby]\$(\d{2})\$[./A-Za-z0-9]{53}$/;

export async function bcryptHash(password: string, cost = BCRYPT_COST): Promise<string> {
  // bcrypt ignores what is past 72 bytes: two passwords alike in their first 72 would both log in.
  if (Buffer.byteLength(password) > 72) throw new InvalidArgumentError('a password that nats-server checks (bcrypt) may be at most 72 bytes long');
  const hash = await bcrypt.hash(password, cost);
  return `$2a$${hash.slice(4)}`;
}

export function isBcryptHash(text: string): boolean {
  const match = BCRYPT_PATTERN.exec(text);
  return match !== null && Number(match[1]) >= 4 && Number(match[1]) <= 31;
}

export function bcryptMatches(password: string, hash: string): Promise<boolean> {
  return bcrypt.compare(password, hash);
}
