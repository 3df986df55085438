/**
 * The access file (docs/security.md §2): the principals that may connect, their role, password
 * hash and grants. YAML, one file per gateway: `<data>/access.yml` unless `--access FILE`.
 * Mode 0600, written atomically (a temp file renamed over the old one), so a reader never sees
 * half a file and no other local user ever reads a hash.
 *
 *   version: 1
 *   principals:
 *     sensor-1:
 *       role: device
 *       password: $7$210000$...        # password-hash.ts; never a clear password
 *       natsPassword: $2a$12$...      # bcrypt, for nats-server (edgefc users add --nats)
 *       groups: [line-3]
 *       publish: [factory/+/temperature]
 *     plc-7:
 *       role: device
 *       certificate: true             # mutual TLS: a client certificate whose CN is plc-7
 */
import { parseDocument, stringify } from 'yaml';
import { InvalidArgumentError } from 'edgefc/errors';
import { readPrivateFile, writeSecretFile } from './private-file.js';
import { triggerFilterProblem } from 'edgefc/protocol';
import { parsePasswordHash } from './password-hash.js';
import { isBcryptHash } from './bcrypt-hash.js';
import { isPrincipalName, PRINCIPAL_NAME_RULE, PrincipalRole, type Principal } from './principal.js';

/** A principal as the access file holds it. */
export interface AccessEntry extends Principal {
  role: typeof PrincipalRole.device | typeof PrincipalRole.operator;
  /** `$7$` hash (password-hash.ts); absent: no password login. */
  password?: string;
  /** bcrypt hash of the same password, for nats-server (bcrypt-hash.ts; docs/security.md §10). */
  natsPassword?: string;
  /** Accept a client certificate whose subject CN is this name (mutual TLS). */
  certificate: boolean;
}

export interface AccessFile {
  path: string;
  principals: Map<string, AccessEntry>;
}

const HEADER = `# edgefc access file: who may connect to this gateway (docs/security.md).
# Edit with "edgefc users add|remove"; passwords are stored as PBKDF2-SHA512 hashes only.
`;

/** Read and check the access file; missing → an empty one (nobody but functions can connect). */
export async function loadAccessFile(path: string): Promise<AccessFile> {
  // A hash readable by others is a hash others can crack: such a file is refused.
  const text = await readPrivateFile(path);
  return { path, principals: text === undefined ? new Map<string, AccessEntry>() : parseAccessText(text, path) };
}

export function parseAccessText(text: string, path: string): Map<string, AccessEntry> {
  const document = parseDocument(text);
  if (document.errors.length > 0) throw new InvalidArgumentError(`${path}: ${document.errors[0]?.message ?? 'not YAML'}`);
  const root: unknown = document.toJS();
  const problems: string[] = [];
  const principals = new Map<string, AccessEntry>();
  if (root === null || root === undefined) return principals;
  if (!isRecord(root)) throw new InvalidArgumentError(`${path}: must be a mapping with "version" and "principals"`);
  if (root['version'] !== 1) problems.push('version: must be 1');
  const listed = root['principals'] ?? {};
  if (!isRecord(listed)) problems.push('principals: must be a mapping of name to principal');
  else {
    for (const [name, value] of Object.entries(listed)) {
      const entry = parseEntry(name, value, problems);
      if (entry !== undefined) principals.set(name, entry);
    }
  }
  for (const key of Object.keys(root)) if (key !== 'version' && key !== 'principals') problems.push(`${key}: unknown field`);
  if (problems.length > 0) throw new InvalidArgumentError(`${path}: ${problems.join('; ')}`);
  return principals;
}

function parseEntry(name: string, value: unknown, problems: string[]): AccessEntry | undefined {
  const at = `principals.${name}`;
  if (!isPrincipalName(name)) {
    problems.push(`${at}: a name is ${PRINCIPAL_NAME_RULE}`);
    return undefined;
  }
  if (!isRecord(value)) {
    problems.push(`${at}: must be a mapping`);
    return undefined;
  }
  const known = new Set(['role', 'password', 'natsPassword', 'certificate', 'groups', 'publish', 'subscribe']);
  for (const key of Object.keys(value)) if (!known.has(key)) problems.push(`${at}.${key}: unknown field`);
  const role = value['role'];
  if (role !== PrincipalRole.device && role !== PrincipalRole.operator) {
    problems.push(`${at}.role: must be "device" or "operator"`);
    return undefined;
  }
  const password = value['password'];
  if (password !== undefined && (typeof password !== 'string' || parsePasswordHash(password) === undefined)) {
    problems.push(`${at}.password: must be a $7$ hash made by "edgefc users add" (never a clear password)`);
  }
  const natsPassword = value['natsPassword'];
  if (natsPassword !== undefined && (typeof natsPassword !== 'string' || !isBcryptHash(natsPassword) || password === undefined)) {
    problems.push(`${at}.natsPassword: must be a bcrypt hash made by "edgefc users add --nats", beside password`);
  }
  const certificate = value['certificate'] ?? false;
  if (typeof certificate !== 'boolean') problems.push(`${at}.certificate: must be true or false`);
  if (password === undefined && certificate !== true) problems.push(`${at}: needs a password or certificate: true`);
  const entry: AccessEntry = {
    name,
    role,
    certificate: certificate === true,
    groups: stringList(value['groups'], `${at}.groups`, problems, (group) => (isPrincipalName(group) ? undefined : PRINCIPAL_NAME_RULE)),
    publish: stringList(value['publish'], `${at}.publish`, problems, triggerFilterProblem),
    subscribe: stringList(value['subscribe'], `${at}.subscribe`, problems, triggerFilterProblem),
  };
  if (typeof password === 'string') entry.password = password;
  if (typeof natsPassword === 'string') entry.natsPassword = natsPassword;
  return entry;
}

function stringList(value: unknown, at: string, problems: string[], check: (item: string) => string | undefined): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || !value.every((item): item is string => typeof item === 'string')) {
    problems.push(`${at}: must be a list of strings`);
    return [];
  }
  for (const item of value) {
    const problem = check(item);
    if (problem !== undefined) problems.push(`${at}: "${item}": ${problem}`);
  }
  return value;
}

export function formatAccessFile(principals: Iterable<AccessEntry>): string {
  const listed: Record<string, Record<string, unknown>> = {};
  for (const entry of principals) {
    const out: Record<string, unknown> = { role: entry.role };
    if (entry.password !== undefined) out['password'] = entry.password;
    if (entry.natsPassword !== undefined) out['natsPassword'] = entry.natsPassword;
    if (entry.certificate) out['certificate'] = true;
    if (entry.groups.length > 0) out['groups'] = [...entry.groups];
    if (entry.publish.length > 0) out['publish'] = [...entry.publish];
    if (entry.subscribe.length > 0) out['subscribe'] = [...entry.subscribe];
    listed[entry.name] = out;
  }
  return HEADER + stringify({ version: 1, principals: listed });
}

/** Write atomically with mode 0600 from the first byte (no window where others could read it). */
export async function saveAccessFile(file: AccessFile): Promise<void> {
  await writeSecretFile(file.path, formatAccessFile(file.principals.values()));
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
