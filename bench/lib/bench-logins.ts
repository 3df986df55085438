/**
 * Logins for a bench run with authentication on, as a user would deploy the gateway (issue 14:
 * "measure with authentication on"). One principal per bench client process, because a
 * principal's connections share its reply topic (docs/security.md §2.1) and a load generator
 * that shared one would measure the fan-out, not the gateway.
 *
 * Every principal (but the operators asked for) is a device that may call the bench functions (`invokers: [devices]`,
 * templates.ts) and publish and read `bench/#`, the raw baseline's topics (bench-topics.ts), so
 * the raw echo pays the same broker checks as the gateway's calls. Hashes use 1,000 PBKDF2
 * rounds, the floor the access file accepts (password-hash.ts): the bench measures calls, and
 * the per-CONNECT hash cost is paid once per client either way.
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatAccessFile, type AccessEntry } from '../../gateway/security/access-file.js';
import { hashPassword } from '../../gateway/security/password-hash.js';
import { PrincipalRole } from '../../gateway/security/principal.js';
import { writeSecretFile } from '../../gateway/security/private-file.js';
import { RAW_REQUEST_PREFIX, RR_REQUEST_PREFIX } from './bench-topics.js';

export interface Login {
  username: string;
  password: string;
}

/** What a bench device may publish and read: the raw baseline's topics, its responder's filters. */
const BENCH_GRANTS = ['bench/#', `${RAW_REQUEST_PREFIX}+`, `${RR_REQUEST_PREFIX}+`];
const BENCH_HASH_ROUNDS = 1_000;

export interface BenchLogins {
  /** A temp directory, 0711 so a Mosquitto that dropped to its own user reaches files in it. */
  readonly dir: string;
  login(name: string): Login;
  /** Write an access file holding every principal (mode 0600) at `path`. */
  writeAccessFile(path: string): Promise<void>;
  /** A new data directory under `dir` holding the access file, for one gateway. */
  dataDir(name: string): Promise<string>;
  close(): Promise<void>;
}

/** `operators`: names among `names` that get the operator role (admin calls: stats, §9). */
export async function createBenchLogins(names: readonly string[], options: { operators?: readonly string[] } = {}): Promise<BenchLogins> {
  const dir = await mkdtemp(join(tmpdir(), 'edgefc-bench-auth-'));
  await chmod(dir, 0o711);
  const logins = new Map<string, Login>();
  const entries: AccessEntry[] = [];
  for (const name of names) {
    const password = randomBytes(18).toString('base64url');
    logins.set(name, { username: name, password });
    entries.push({
      name,
      role: options.operators?.includes(name) === true ? PrincipalRole.operator : PrincipalRole.device,
      password: await hashPassword(password, BENCH_HASH_ROUNDS),
      groups: [],
      publish: [...BENCH_GRANTS],
      subscribe: [...BENCH_GRANTS],
      certificate: false,
    });
  }
  const text = formatAccessFile(entries);
  const writeAccessFile = (path: string): Promise<void> => writeSecretFile(path, text);
  return {
    dir,
    login(name) {
      const login = logins.get(name);
      if (login === undefined) throw new Error(`bench: no login "${name}" (known: ${[...logins.keys()].join(', ')})`);
      return login;
    },
    writeAccessFile,
    async dataDir(name) {
      const dataDir = join(dir, name);
      await mkdir(dataDir, { mode: 0o700 });
      await writeAccessFile(join(dataDir, 'access.yml'));
      return dataDir;
    },
    close: () => rm(dir, { recursive: true, force: true }),
  };
}
