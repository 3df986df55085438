/**
 * The bearer token `/metrics` and `/readyz` ask for: `<data>/metrics.token`, mode 0600, made at
 * the first start and kept across restarts, so Prometheus reads it with
 * `authorization: { credentials_file: <data>/metrics.token }` (docs/security.md §9).
 */
import { randomBytes, timingSafeEqual, createHash } from 'node:crypto';
import { readFile, chmod } from 'node:fs/promises';
import { join } from 'node:path';
import { writeSecretFile } from '../security/private-file.js';

export const METRICS_TOKEN_FILE = 'metrics.token';

/** Read the token, or make it: 32 random bytes, base64url (43 characters). */
export async function ensureMetricsToken(dataDir: string): Promise<string> {
  const path = join(dataDir, METRICS_TOKEN_FILE);
  try {
    const token = (await readFile(path, 'utf8')).trim();
    if (token.length >= 32) {
      await chmod(path, 0o600);
      return token;
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const token = randomBytes(32).toString('base64url');
  await writeSecretFile(path, `${token}\n`);
  return token;
}

/**
 * Does an `Authorization` header carry the token? Both sides hashed first, so the comparison is
 * constant-time whatever the lengths (timingSafeEqual wants equal lengths).
 */
export function bearerMatches(header: string | undefined, token: string): boolean {
  if (header === undefined || !header.startsWith('Bearer ')) return false;
  const digest = (text: string): Buffer => createHash('sha256').update(text).digest();
  return timingSafeEqual(digest(header.slice('Bearer '.length).trim()), digest(token));
}
