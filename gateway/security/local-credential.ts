/**
 * The local operator credential (docs/security.md §2.2): made by the gateway at its first start
 * in the data directory, `operator.credentials` (mode 0600, JSON: broker, username, password),
 * and found there by the CLI on the same box the way kubectl finds its kubeconfig, so
 * `npm start` then `npx edgefc invoke …` needs no typing and no password on a command line.
 * Like OpenSSH with a private key, the CLI refuses a file other users can read (private-file.ts).
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { AuthenticationFailedError } from 'edgefc/errors';
import { type AccessEntry, loadAccessFile, saveAccessFile } from './access-file.js';
import { readPrivateFile, writeSecretFile } from './private-file.js';
import { hashPassword, verifyPassword } from './password-hash.js';
import { PrincipalRole } from './principal.js';

export const LOCAL_OPERATOR = 'local-operator';
export const LOCAL_CREDENTIAL_FILE = 'operator.credentials';

export interface LocalCredential {
  /** The broker the gateway served when it wrote the file. */
  broker: string;
  username: string;
  password: string;
}

/**
 * Make sure `<dataDir>/operator.credentials` holds a password that the access file's
 * `local-operator` accepts, and names `brokerUrl`. A new password is made only when there is no
 * usable one (first start, file deleted, or the access file's hash changed by hand).
 */
export async function ensureLocalOperator(dataDir: string, accessPath: string, brokerUrl: string): Promise<string> {
  const path = join(dataDir, LOCAL_CREDENTIAL_FILE);
  const access = await loadAccessFile(accessPath);
  const entry = access.principals.get(LOCAL_OPERATOR);
  const existing = await readLocalCredential(path).catch(() => undefined);
  let password = existing?.password;
  const valid = password !== undefined && entry?.password !== undefined && entry.role === PrincipalRole.operator && (await verifyPassword(password, entry.password));
  if (!valid) {
    password = randomBytes(24).toString('base64url');
    const updated: AccessEntry = {
      name: LOCAL_OPERATOR,
      role: PrincipalRole.operator,
      password: await hashPassword(password),
      certificate: false,
      groups: [],
      publish: [],
      subscribe: [],
    };
    access.principals.set(LOCAL_OPERATOR, updated);
    await saveAccessFile(access);
  }
  if (password !== undefined && (!valid || existing?.broker !== brokerUrl)) {
    const credential: LocalCredential = { broker: brokerUrl, username: LOCAL_OPERATOR, password };
    await writeSecretFile(path, `${JSON.stringify(credential, null, 2)}\n`);
  }
  return path;
}

/**
 * Read a credential file; undefined when there is none. One that other users can read, or that
 * another user owns, is refused (private-file.ts) with AuthenticationFailed.
 */
export async function readLocalCredential(path: string): Promise<LocalCredential | undefined> {
  const text = await readPrivateFile(path, (message) => new AuthenticationFailedError(message));
  if (text === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  if (
    typeof parsed !== 'object' || parsed === null ||
    typeof (parsed as LocalCredential).username !== 'string' ||
    typeof (parsed as LocalCredential).password !== 'string' ||
    typeof (parsed as LocalCredential).broker !== 'string'
  ) {
    throw new AuthenticationFailedError(`${path} is not a credential file (broker, username, password)`);
  }
  return parsed as LocalCredential;
}
