/**
 * Where the CLI connects and who it logs in as (docs/security.md §2.2), from, in order:
 *
 * 1. `--username` (or EDGEFC_USERNAME) with a password from `--password-file`, `--password-stdin`
 *    or EDGEFC_PASSWORD; never from the command line, where `ps` shows it to every local user.
 * 2. A credential file: `--credentials FILE`, EDGEFC_CREDENTIALS, or the local operator
 *    credential the gateway wrote in its data directory (`--data`, EDGEFC_DATA_DIR, ./.edgefc).
 * 3. Nobody: only a gateway started with `--insecure` lets that in.
 *
 * The broker is `--broker`, else EDGEFC_BROKER_URL, else the credential file's, else
 * mqtt://127.0.0.1:1883; TLS files `--ca`/`--cert`/`--key`, else EDGEFC_CA/EDGEFC_CERT/EDGEFC_KEY.
 * So a profile is set once in the environment: EDGEFC_BROKER_URL, EDGEFC_USERNAME with
 * EDGEFC_PASSWORD (or EDGEFC_CREDENTIALS), and the TLS files.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ClientTls } from 'edgefc/client';
import { PASSWORD_ENV, USERNAME_ENV, BROKER_URL_ENV } from 'edgefc/client';
import { defaultDataDir } from '../data-dir.js';
import { LOCAL_CREDENTIAL_FILE, readLocalCredential, type LocalCredential } from '../security/local-credential.js';
import { UsageError } from './usage-error.js';

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
  --timeout MS, --json`;

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
}

export interface Connection {
  brokerUrl: string;
  username?: string;
  password?: string;
  tls?: ClientTls;
}

/** Throws UsageError for a bad combination, AuthenticationFailed for an unusable credential file. */
export async function resolveConnection(values: ConnectionValues, env: NodeJS.ProcessEnv = process.env): Promise<Connection> {
  if (values.password !== undefined) {
    throw new UsageError('--password is not accepted: a password on the command line is visible to every local user (ps). Use --password-file F, --password-stdin or EDGEFC_PASSWORD');
  }
  const tls = await readTls(values, env);
  const username = values.username ?? nonEmpty(env[USERNAME_ENV]);
  const envBroker = nonEmpty(env[BROKER_URL_ENV]);
  if (username !== undefined) {
    const password = await readPassword(values, env);
    if (password === undefined) {
      throw new UsageError(`no password for "${username}": give --password-file F, --password-stdin or EDGEFC_PASSWORD`);
    }
    return { brokerUrl: values.broker ?? envBroker ?? DEFAULT_CLI_BROKER, username, password, ...tls };
  }
  const found = await findCredential(values, env);
  if (found !== undefined) {
    return { brokerUrl: values.broker ?? envBroker ?? found.broker, username: found.username, password: found.password, ...tls };
  }
  return { brokerUrl: values.broker ?? envBroker ?? DEFAULT_CLI_BROKER, ...tls };
}

async function findCredential(values: ConnectionValues, env: NodeJS.ProcessEnv): Promise<LocalCredential | undefined> {
  const named = values.credentials ?? nonEmpty(env[CREDENTIALS_ENV]);
  if (named !== undefined) {
    const found = await readLocalCredential(named);
    if (found === undefined) throw new UsageError(`no credential file ${named}`);
    return found;
  }
  // None in the data directory: no gateway here, or one started with --insecure.
  return readLocalCredential(join(values.data ?? defaultDataDir(env), LOCAL_CREDENTIAL_FILE));
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
async function readTls(values: ConnectionValues, env: NodeJS.ProcessEnv): Promise<{ tls?: ClientTls }> {
  const tls: ClientTls = {};
  const read = async (flag: string, path: string | undefined): Promise<Buffer | undefined> => {
    if (path === undefined) return undefined;
    try {
      return await readFile(path);
    } catch (error) {
      throw new UsageError(`cannot read ${flag} ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
    }
  };
  const ca = await read('--ca', values.ca ?? nonEmpty(env[TLS_ENV.ca]));
  const cert = await read('--cert', values.cert ?? nonEmpty(env[TLS_ENV.cert]));
  const key = await read('--key', values.key ?? nonEmpty(env[TLS_ENV.key]));
  if (ca !== undefined) tls.ca = ca;
  if (cert !== undefined) tls.cert = cert;
  if (key !== undefined) tls.key = key;
  if ((cert === undefined) !== (key === undefined)) throw new UsageError('--cert and --key (EDGEFC_CERT and EDGEFC_KEY) go together');
  return Object.keys(tls).length === 0 ? {} : { tls };
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}
