/**
 * The gateway's own secrets for an external broker (docs/security.md §4), in its data directory,
 * mode 0600, made by `edgefc broker-config mosquitto` and read by `edgefc start --broker`:
 *
 * - `gateway.credentials` (JSON `{username, password}`): the gateway's login. Its username is
 *   `edgefc_gateway`: the `_` keeps it out of the principals' names (principal.ts), so no access
 *   file entry can ever be, or be confused with, the gateway.
 * - `gateway.secret`: 32 random bytes (base64url) from which every function's broker password is
 *   derived (function-principals.ts).
 *
 * A file other users can read, or another user owns, is refused (private-file.ts).
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { ServiceUnavailableError } from 'edgefc/errors';
import { readPrivateFile, writeSecretFile } from './private-file.js';

export const GATEWAY_SECRET_FILE = 'gateway.secret';
export const GATEWAY_CREDENTIAL_FILE = 'gateway.credentials';
export const GATEWAY_USERNAME = 'edgefc_gateway';

/** 256 bits: as strong as the HMAC-SHA256 it keys. */
const SECRET_BYTES = 32;

export interface GatewayLogin {
  username: string;
  password: string;
}

/** The secret in `<dataDir>/gateway.secret`; undefined when there is none (broker-config never ran). */
export async function readGatewaySecret(dataDir: string): Promise<Buffer | undefined> {
  const path = join(dataDir, GATEWAY_SECRET_FILE);
  const text = await readPrivateFile(path);
  if (text === undefined) return undefined;
  const secret = Buffer.from(text.trim(), 'base64url');
  if (secret.length < SECRET_BYTES) throw new ServiceUnavailableError(`${path} does not hold a ${SECRET_BYTES}-byte secret: delete it and run "edgefc broker-config mosquitto" again`);
  return secret;
}

/** The secret, made on first use. A new secret changes every function's password. */
export async function ensureGatewaySecret(dataDir: string): Promise<Buffer> {
  const existing = await readGatewaySecret(dataDir);
  if (existing !== undefined) return existing;
  const secret = randomBytes(SECRET_BYTES);
  await writeSecretFile(join(dataDir, GATEWAY_SECRET_FILE), `${secret.toString('base64url')}\n`);
  return secret;
}

/** The login in `<dataDir>/gateway.credentials`; undefined when there is none. */
export async function readGatewayLogin(dataDir: string): Promise<GatewayLogin | undefined> {
  const path = join(dataDir, GATEWAY_CREDENTIAL_FILE);
  const text = await readPrivateFile(path);
  if (text === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  const login = parsed as Partial<GatewayLogin> | undefined;
  if (typeof login?.username !== 'string' || typeof login.password !== 'string' || login.username === '' || login.password === '') {
    throw new ServiceUnavailableError(`${path} is not a credential file (JSON with username and password)`);
  }
  return { username: login.username, password: login.password };
}

/** The login, made on first use (a random 256-bit password): the same one on every later run. */
export async function ensureGatewayLogin(dataDir: string): Promise<GatewayLogin> {
  const existing = await readGatewayLogin(dataDir);
  if (existing !== undefined) return existing;
  const login: GatewayLogin = { username: GATEWAY_USERNAME, password: randomBytes(SECRET_BYTES).toString('base64url') };
  await writeSecretFile(join(dataDir, GATEWAY_CREDENTIAL_FILE), `${JSON.stringify(login, null, 2)}\n`);
  return login;
}
