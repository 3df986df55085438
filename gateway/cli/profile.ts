/**
 * Named connection profiles, set once in a config file (docs/operations.md "Profiles"):
 * `$EDGEFC_CONFIG`, else `$XDG_CONFIG_HOME/edgefc/config.yml`, else `~/.config/edgefc/config.yml`.
 *
 * ```yaml
 * default: box1            # the profile used when neither --profile nor $EDGEFC_PROFILE names one
 * profiles:
 *   box1:
 *     broker: mqtts://box1.example:8883
 *     credentials: ~/.config/edgefc/box1.credentials   # a credential file (0600), never a password
 *     ca: ca.pem                                        # relative to this file's directory
 *     cert: op.pem
 *     key: op-key.pem
 * ```
 *
 * The file holds paths, never a secret: a `password` (or any unknown key) is refused. So others
 * may read it, like ~/.ssh/config; but a file another user may write (or owns) is refused, like
 * OpenSSH refuses such a config, because whoever can edit it can point the CLI at their own broker
 * and receive the password the credential file holds.
 */
import { readFile, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { parse } from 'yaml';
import { closestName } from '../registry/closest-name.js';
import { UsageError } from './usage-error.js';

export const CONFIG_ENV = 'EDGEFC_CONFIG';
export const PROFILE_ENV = 'EDGEFC_PROFILE';

/** What a profile may set: where to connect, and which files to read. */
export const PROFILE_FIELDS = ['broker', 'credentials', 'ca', 'cert', 'key'] as const;
export type ProfileField = (typeof PROFILE_FIELDS)[number];

export interface Profile {
  name: string;
  /** The config file it came from. */
  file: string;
  values: Partial<Record<ProfileField, string>>;
}

export function configPath(env: NodeJS.ProcessEnv): string {
  const named = env[CONFIG_ENV];
  if (named !== undefined && named !== '') return resolve(named);
  const base = env['XDG_CONFIG_HOME'] !== undefined && env['XDG_CONFIG_HOME'] !== '' ? env['XDG_CONFIG_HOME'] : join(env['HOME'] ?? homedir(), '.config');
  return join(base, 'edgefc', 'config.yml');
}

/**
 * The profile to use: `--profile`, else $EDGEFC_PROFILE, else the file's `default`; undefined
 * when none is named and the file names no default, or there is no file and none was asked for.
 * Throws UsageError for a profile asked for that is not there, or a file that is not usable.
 */
export async function loadProfile(flag: string | undefined, env: NodeJS.ProcessEnv): Promise<Profile | undefined> {
  const asked = flag ?? (env[PROFILE_ENV] === '' ? undefined : env[PROFILE_ENV]);
  const file = configPath(env);
  const text = await readConfig(file);
  if (text === undefined) {
    if (asked !== undefined) throw new UsageError(`profile "${asked}" asked for, but there is no config file ${file} (set ${CONFIG_ENV} or create it)`);
    // Named on purpose: a typo there must not fall back to another broker silently.
    if (env[CONFIG_ENV] !== undefined && env[CONFIG_ENV] !== '') throw new UsageError(`${CONFIG_ENV} names ${file}, which does not exist`);
    return undefined;
  }
  const config = parseConfig(file, text);
  const name = asked ?? config.default;
  if (name === undefined) return undefined;
  const raw = config.profiles[name];
  if (raw === undefined) {
    const known = Object.keys(config.profiles);
    const near = closestName(name, known);
    throw new UsageError(`${file}: no profile "${name}"${near === undefined ? '' : ` (did you mean "${near}"?)`}; profiles: ${known.join(', ') || 'none'}`);
  }
  return { name, file, values: checkProfile(file, name, raw, env['HOME'] ?? homedir()) };
}

async function readConfig(file: string): Promise<string | undefined> {
  let info;
  try {
    info = await stat(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new UsageError(`cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
  if ((info.mode & 0o022) !== 0) {
    throw new UsageError(`${file} may be written by other users (mode ${(info.mode & 0o777).toString(8)}): they could send your login to their broker; refusing to use it: run "chmod go-w ${file}"`);
  }
  const own = process.getuid?.();
  if (own !== undefined && info.uid !== own && info.uid !== 0) throw new UsageError(`${file} belongs to another user (uid ${info.uid}); refusing to use it`);
  return readFile(file, 'utf8');
}

interface Config {
  default?: string;
  profiles: Record<string, unknown>;
}

function parseConfig(file: string, text: string): Config {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (error) {
    throw new UsageError(`${file}: not YAML: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (doc === null || doc === undefined) return { profiles: {} };
  if (typeof doc !== 'object' || Array.isArray(doc)) throw new UsageError(`${file}: must be a mapping with "profiles" (and "default")`);
  const { default: name, profiles, ...rest } = doc as Record<string, unknown>;
  const unknown = Object.keys(rest);
  if (unknown.length > 0) throw new UsageError(`${file}: unknown key "${unknown[0]}": only "default" and "profiles"`);
  if (name !== undefined && typeof name !== 'string') throw new UsageError(`${file}: "default" must be a profile name`);
  if (profiles !== undefined && (typeof profiles !== 'object' || profiles === null || Array.isArray(profiles))) {
    throw new UsageError(`${file}: "profiles" must map names to profiles`);
  }
  return { ...(name === undefined ? {} : { default: name }), profiles: (profiles ?? {}) as Record<string, unknown> };
}

function checkProfile(file: string, name: string, raw: unknown, home: string): Partial<Record<ProfileField, string>> {
  const where = `${file}: profile "${name}"`;
  if (raw === null || raw === undefined) return {};
  if (typeof raw !== 'object' || Array.isArray(raw)) throw new UsageError(`${where} must be a mapping`);
  const values: Partial<Record<ProfileField, string>> = {};
  for (const [key, value] of Object.entries(raw)) {
    if (/pass(word)?|secret|token/i.test(key)) {
      throw new UsageError(`${where}: "${key}" is not accepted: the config file holds no secret. Put the login in a credential file (mode 0600, {"broker","username","password"}) and name it with "credentials"`);
    }
    if (!(PROFILE_FIELDS as readonly string[]).includes(key)) {
      const near = closestName(key, PROFILE_FIELDS);
      throw new UsageError(`${where}: unknown key "${key}"${near === undefined ? '' : ` (did you mean "${near}"?)`}; keys: ${PROFILE_FIELDS.join(', ')}`);
    }
    if (typeof value !== 'string' || value === '') throw new UsageError(`${where}: "${key}" must be a non-empty string`);
    values[key as ProfileField] = key === 'broker' ? value : pathIn(dirname(file), value, home);
  }
  return values;
}

/** `~/x` in the home directory, a relative path in the config file's directory. */
function pathIn(dir: string, value: string, home: string): string {
  if (value === '~' || value.startsWith('~/')) return join(home, value.slice(1));
  return isAbsolute(value) ? value : resolve(dir, value);
}
