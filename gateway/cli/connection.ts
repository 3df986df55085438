/**
 * Where the CLI connects and who it logs in as (docs/security.md §2.2, docs/operations.md §5).
 * Each setting comes from the first of: flags, environment, profile (profile.ts, a config file),
 * the local operator credential file.
 *
 * - Login: `--username U` (password from `--password-file`, `--password-stdin` or
 *   EDGEFC_PASSWORD; never from the command line, where `ps` shows it to every local user), else
 *   `--credentials FILE`; else EDGEFC_USERNAME (with a password as above), else
 *   EDGEFC_CREDENTIALS; else the profile's `credentials`; else the local operator credential the
 *   gateway wrote in its data directory (`--data`, EDGEFC_DATA_DIR, ./.edgefc); else nobody (only
 *   a gateway started with `--insecure` lets that in).
 * - Broker: `--broker`, EDGEFC_BROKER_URL, the profile's `broker`, the credential file's,
 *   mqtt://127.0.0.1:1883.
 * - TLS files: `--ca`/`--cert`/`--key`, EDGEFC_CA/EDGEFC_CERT/EDGEFC_KEY, the profile's.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ClientTls } from 'edgefc/client';
import { PASSWORD_ENV, USERNAME_ENV, BROKER_URL_ENV } from 'edgefc/client';
import { defaultDataDir } from '../data-dir.js';
import { LOCAL_CREDENTIAL_FILE, readLocalCredential, type LocalCredential } from '../security/local-credential.js';
import { UsageError } from './usage-error.js';
import { loadProfile, type Profile } from './profile.js';

export const DEFAULT_CLI_BROKER = 'mqtt://127.0.0.1:1883';
export const CREDENTIALS_ENV = 'EDGEFC_CREDENTIALS';
/** A profile set once: the TLS files by path, as `--ca`, `--cert`, `--key`. */
export const TLS_ENV = { ca: 'EDGEFC_CA', cert: 'EDGEFC_CERT', key: 'EDGEFC_KEY' } as const;

/** parseArgs options every command that connects shares. */
export const connectionOptions = {
  broker: { type: 'string' },
  username: { type: 'string' },
  /** Declared only to refuse it with a reason: a password in argv is visible to every local user. */
  password: { type: 'string' },
  'password-file': { type: 'string' },
  'password-stdin': { type: 'boolean', default: false },
  credentials: { type: 'string' },
  data: { type: 'string' },
  ca: { type: 'string' },
  cert: { type: 'string' },
  key: { type: 'string' },
  profile: { type: 'string' },
  timeout: { type: 'string' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

export const CONNECTION_USAGE = `Connection options (every command that talks to a gateway):
  --broker URL          mqtt:// or mqtts:// (default $EDGEFC_BROKER_URL, the credential file's, else ${DEFAULT_CLI_BROKER})
  --username U          log in as U (default $EDGEFC_USERNAME); the password comes from
  --password-file F     a file (mode 0600), or --password-stdin, or $EDGEFC_PASSWORD
  --credentials F       a credential file (default $EDGEFC_CREDENTIALS, else the local operator
                        credential in the gateway's data directory: --data, $EDGEFC_DATA_DIR, ./.edgefc)
  --ca F, --cert F, --key F   TLS: the broker's CA, and a client certificate and key (mutual TLS)
                        (default $EDGEFC_CA, $EDGEFC_CERT, $EDGEFC_KEY)
  --profile NAME        a profile of the config file ($EDGEFC_CONFIG, else ~/.config/edgefc/config.yml;
                        default $EDGEFC_PROFILE, else the file's "default"): broker, credentials, ca, cert, key
                        Precedence: flags > environment > profile > the local operator credential
  --timeout MS          how long to wait for the gateway's answer
  --json                print the answer (or the failure) as JSON, for scripts`;

export interface ConnectionValues {
  broker?: string | undefined;
  username?: string | undefined;
  password?: string | undefined;
  'password-file'?: string | undefined;
  'password-stdin'?: boolean | undefined;
  credentials?: string | undefined;
  data?: string | undefined;
  ca?: string | undefined;
  cert?: string | undefined;
  key?: string | undefined;
  profile?: string | undefined;
}

export interface Connection {
  brokerUrl: string;
  username?: string;
  password?: string;
  tls?: ClientTls;
}

/**
 * Throws UsageError for a bad combination (or an unusable config file), AuthenticationFailed for
 * an unusable credential file. Each setting comes from the first of: flags, environment, profile
 * (profile.ts), the local operator credential file.
 */
export async function resolveConnection(values: ConnectionValues, env: NodeJS.ProcessEnv = process.env): Promise<Connection> {
  if (values.password !== undefined) {
    throw new UsageError('--password is not accepted: a password on the command line is visible to every local user (ps). Use --password-file F, --password-stdin or EDGEFC_PASSWORD');
  }
  const profile = (await loadProfile(values.profile, env))?.values ?? {};
  const tls = await readTls(values, env, profile);
  const broker = values.broker ?? nonEmpty(env[BROKER_URL_ENV]) ?? profile.broker;
  const login = await findLogin(values, env, profile);
  if (login !== undefined) return { brokerUrl: broker ?? login.broker ?? DEFAULT_CLI_BROKER, username: login.username, password: login.password, ...tls };
  return { brokerUrl: broker ?? DEFAULT_CLI_BROKER, ...tls };
}

/** A login from the first layer that names one: flags, environment, profile, then the data directory's file. */
async function findLogin(values: ConnectionValues, env: NodeJS.ProcessEnv, profile: Profile['values']): Promise<{ username: string; password: string; broker?: string } | undefined> {
  const withPassword = async (username: string): Promise<{ username: string; password: string }> => {
    const password = await readPassword(values, env);
    if (password === undefined) throw new UsageError(`no password for "${username}": give --password-file F, --password-stdin or EDGEFC_PASSWORD`);
    return { username, password };
  };
  if (values.username !== undefined) return withPassword(values.username);
  if (values.credentials !== undefined) return credentialFile(values.credentials, '--credentials');
  const envUser = nonEmpty(env[USERNAME_ENV]);
  if (envUser !== undefined) return withPassword(envUser);
  const envFile = nonEmpty(env[CREDENTIALS_ENV]);
  if (envFile !== undefined) return credentialFile(envFile, CREDENTIALS_ENV);
  if (profile.credentials !== undefined) return credentialFile(profile.credentials, 'the profile\'s credentials');
  // None in the data directory: no gateway here, or one started with --insecure.
  return readLocalCredential(join(values.data ?? defaultDataDir(env), LOCAL_CREDENTIAL_FILE));
}

async function credentialFile(path: string, from: string): Promise<LocalCredential> {
  const found = await readLocalCredential(path);
  if (found === undefined) throw new UsageError(`no credential file ${path} (${from})`);
  return found;
}

async function readPassword(values: ConnectionValues, env: NodeJS.ProcessEnv): Promise<string | undefined> {
  const file = values['password-file'];
  if (file !== undefined) return firstLine(await readSecretFile(file), '--password-file');
  if (values['password-stdin'] === true) return firstLine(await readStdin(), '--password-stdin');
  return nonEmpty(env[PASSWORD_ENV]);
}

async function readSecretFile(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
}

/** The first line, without its line ending: `echo secret > f` must work. */
function firstLine(text: string, from: string): string {
  const line = text.split(/\r?\n/, 1)[0] ?? '';
  if (line === '') throw new UsageError(`${from} gave an empty password`);
  return line;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** The TLS files: `--ca`/`--cert`/`--key`, else EDGEFC_CA / EDGEFC_CERT / EDGEFC_KEY (paths). */
async function readTls(values: ConnectionValues, env: NodeJS.ProcessEnv, profile: Profile['values']): Promise<{ tls?: ClientTls }> {
  const tls: ClientTls = {};
  const read = async (flag: string, path: string | undefined): Promise<Buffer | undefined> => {
    if (path === undefined) return undefined;
    try {
      return await readFile(path);
    } catch (error) {
      throw new UsageError(`cannot read ${flag} ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
    }
  };
  const ca = await read('--ca', values.ca ?? nonEmpty(env[TLS_ENV.ca]) ?? profile.ca);
  const cert = await read('--cert', values.cert ?? nonEmpty(env[TLS_ENV.cert]) ?? profile.cert);
  const key = await read('--key', values.key ?? nonEmpty(env[TLS_ENV.key]) ?? profile.key);
  if (ca !== undefined) tls.ca = ca;
  if (cert !== undefined) tls.cert = cert;
  if (key !== undefined) tls.key = key;
  if ((cert === undefined) !== (key === undefined)) throw new UsageError('--cert and --key (EDGEFC_CERT and EDGEFC_KEY) go together');
  return Object.keys(tls).length === 0 ? {} : { tls };
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}
