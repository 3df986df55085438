/**
 * `edgefc users add|list|remove`: edit the access file (gateway/security/access-file.ts), the
 * one list of who may connect, for the embedded broker and for Mosquitto alike.
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { EdgeFCError, InvalidArgumentError } from 'edgefc/errors';
import { triggerFilterProblem } from 'edgefc/protocol';
import { defaultDataDir } from '../../data-dir.js';
import { loadAccessFile, saveAccessFile, type AccessEntry } from '../../security/access-file.js';
import { hashPassword } from '../../security/password-hash.js';
import { bcryptHash } from '../../security/bcrypt-hash.js';
import { isPrincipalName, PRINCIPAL_NAME_RULE, PrincipalRole } from '../../security/principal.js';
import { readNewPassword, processPasswordInput, type PasswordInput } from '../read-password.js';
import { renderTable } from '../table.js';
import { isFileSystemError, UsageError } from '../usage-error.js';
import { printFailure, type Output } from './common.js';

export const USERS_USAGE = `Usage: edgefc users add NAME --role device|operator [options]
       edgefc users list [--json]
       edgefc users remove NAME

Edit the access file: who may connect to the gateway's broker, and what each may do
(docs/security.md). A running gateway reads it again at the next CONNECT; for Mosquitto, run
"edgefc broker-config mosquitto" again and reload Mosquitto (kill -HUP).

add:
  --role R            device: calls the functions whose invokers name it; operator: every
                      function and the admin operations (list, deploy, ...)
  --group G           a group that invokers name as group:G (repeatable)
  --publish F         a topic filter outside edgefc/ it may publish to, e.g. a trigger topic (repeatable)
  --subscribe F       a topic filter outside edgefc/ it may subscribe to (repeatable)
  --certificate       it may log in with a client certificate whose CN is NAME (mutual TLS)
  --no-password       with --certificate: certificate only, no password login
  --update            replace NAME's entry when it exists (role, groups and grants as given)
  --keep-password     with --update: keep NAME's password instead of reading a new one
  --nats              also keep a bcrypt hash of the password (natsPassword), which nats-server
                      needs: for a device that connects through a NATS cluster (docs/cluster.md)

  The password is typed at the terminal (twice, not shown), or read from the first line of
  stdin when it is not a terminal:   edgefc users add sensor-1 --role device < sensor-1.pass
  It is never taken from the command line, where every local user can read it (ps).

Options:
  --access F          the access file (default <data>/access.yml)
  --data DIR          the gateway's data directory (default $EDGEFC_DATA_DIR, else ./.edgefc)
  --json              one JSON object (list: the principals; add/remove: what changed)
`;

/** Names the gateway gives its functions' broker logins (function-principals.ts). */
const FUNCTION_LOGIN_PREFIX = 'fn-';

/** What the parser accepts; also the command table's flags (command-table.ts: help, completion). */
export const USERS_OPTIONS = {
    role: { type: 'string' },
    group: { type: 'string', multiple: true, default: [] as string[] },
    publish: { type: 'string', multiple: true, default: [] as string[] },
    subscribe: { type: 'string', multiple: true, default: [] as string[] },
    certificate: { type: 'boolean', default: false },
    'no-password': { type: 'boolean', default: false },
    update: { type: 'boolean', default: false },
    'keep-password': { type: 'boolean', default: false },
    nats: { type: 'boolean', default: false },
    /** Declared only to refuse it with a reason. */
    password: { type: 'string' },
    access: { type: 'string' },
    data: { type: 'string' },
    json: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
} as const;

export async function runUsers(argv: string[], output: Output, input: PasswordInput = processPasswordInput): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: USERS_OPTIONS,
  });
  if (values.help) {
    output.out(USERS_USAGE);
    return 0;
  }
  if (values.password !== undefined) {
    throw new UsageError('--password is not accepted: a password on the command line is visible to every local user (ps). Type it at the prompt, or pipe it on stdin');
  }
  const [action, name, ...extra] = positionals;
  const accessPath = values.access ?? join(values.data ?? defaultDataDir(), 'access.yml');
  try {
    switch (action) {
      case 'add':
        return await add(required(name), extra, values, accessPath, output, input, values.json);
      case 'list':
        if (name !== undefined) throw new UsageError(`unexpected arguments: ${positionals.slice(1).join(' ')}`);
        return await list(accessPath, values.json, output);
      case 'remove':
        if (extra.length > 0) throw new UsageError(`unexpected arguments: ${extra.join(' ')}`);
        return await remove(required(name), accessPath, output, values.json);
      default:
        throw new UsageError(action === undefined ? 'say add, list or remove (edgefc users --help)' : `unknown action "${action}": add, list or remove`);
    }
  } catch (error) {
    if (error instanceof UsageError || !(error instanceof EdgeFCError || isFileSystemError(error))) throw error;
    printFailure(output, error, values.json);
    return 1;
  }
}

interface AddValues {
  role?: string | undefined;
  group: string[];
  publish: string[];
  subscribe: string[];
  certificate: boolean;
  'no-password': boolean;
  update: boolean;
  'keep-password': boolean;
  nats: boolean;
}

async function add(name: string, extra: string[], values: AddValues, path: string, output: Output, input: PasswordInput, json: boolean): Promise<number> {
  if (extra.length > 0) throw new UsageError(`unexpected arguments: ${extra.join(' ')}`);
  const entry = checkEntry(name, values);
  const noPassword = values['no-password'];
  const keepPassword = values['keep-password'];
  if (noPassword && !values.certificate) throw new UsageError('--no-password goes with --certificate: a principal needs a way to log in');
  if (keepPassword && (!values.update || noPassword)) throw new UsageError('--keep-password goes with --update, and not with --no-password');
  if (values.nats && noPassword) throw new UsageError('--nats keeps a second hash of the password: it does not go with --no-password');

  const existing = (await loadAccessFile(path)).principals.get(name);
  if (existing !== undefined && !values.update) {
    throw new InvalidArgumentError(`"${name}" is already in ${path}: pass --update to replace its entry`);
  }
  if (keepPassword) {
    if (existing?.password === undefined) throw new UsageError(`--keep-password: "${name}" has no password to keep`);
    entry.password = existing.password;
    if (values.nats && existing.natsPassword === undefined) throw new UsageError(`--keep-password --nats: "${name}" has no NATS hash to keep; give the password again`);
    // The NATS hash is the same password's: kept with it.
    if (existing.natsPassword !== undefined) entry.natsPassword = existing.natsPassword;
  } else if (!noPassword) {
    const password = await readNewPassword(name, input);
    entry.password = await hashPassword(password);
    // The same password, hashed for nats-server too (security/bcrypt-hash.ts, docs/security.md §10).
    if (values.nats) entry.natsPassword = await bcryptHash(password);
  }
  // Read again: the prompt may have waited long enough for someone else to change the file.
  const file = await loadAccessFile(path);
  const replaced = file.principals.has(name);
  if (replaced && !values.update) throw new InvalidArgumentError(`"${name}" was added to ${path} meanwhile; nothing was changed`);
  file.principals.set(name, entry);
  await saveAccessFile(file);
  if (json) {
    output.out(`${JSON.stringify({ [replaced ? 'updated' : 'added']: name, role: entry.role, accessFile: path })}\n`);
    return 0;
  }
  output.out(
    `${replaced ? 'updated' : 'added'} ${name} (${entry.role}) in ${path}\n` +
      'The gateway takes it at the next connection; for Mosquitto run "edgefc broker-config mosquitto" again and reload Mosquitto.\n',
  );
  return 0;
}

function checkEntry(name: string, values: AddValues): AccessEntry {
  if (!isPrincipalName(name)) throw new UsageError(`"${name}" is not a principal name: ${PRINCIPAL_NAME_RULE}`);
  if (name.startsWith(FUNCTION_LOGIN_PREFIX)) throw new UsageError(`names starting with "${FUNCTION_LOGIN_PREFIX}" are the gateway's logins for its functions`);
  const role = values.role;
  if (role !== PrincipalRole.device && role !== PrincipalRole.operator) throw new UsageError('--role must be device or operator');
  for (const group of values.group) {
    if (!isPrincipalName(group)) throw new UsageError(`--group "${group}": a group name is ${PRINCIPAL_NAME_RULE}`);
  }
  for (const [flag, filters] of [['--publish', values.publish], ['--subscribe', values.subscribe]] as const) {
    for (const filter of filters) {
      const problem = triggerFilterProblem(filter);
      if (problem !== undefined) throw new UsageError(`${flag} "${filter}": ${problem}`);
    }
  }
  return { name, role, certificate: values.certificate, groups: [...new Set(values.group)], publish: [...new Set(values.publish)], subscribe: [...new Set(values.subscribe)] };
}

async function list(path: string, json: boolean, output: Output): Promise<number> {
  const entries = [...(await loadAccessFile(path)).principals.values()];
  // Never the hashes: what a principal may do, and how it logs in.
  const rows = entries.map((entry) => ({
    name: entry.name,
    role: entry.role,
    groups: entry.groups,
    login: [...(entry.password === undefined ? [] : ['password']), ...(entry.certificate ? ['certificate'] : [])],
    publish: entry.publish,
    subscribe: entry.subscribe,
  }));
  if (json) {
    output.out(`${JSON.stringify({ accessFile: path, principals: rows })}\n`);
    return 0;
  }
  if (rows.length === 0) {
    output.out(`no principals in ${path}: add one with "edgefc users add NAME --role device|operator"\n`);
    return 0;
  }
  const cell = (items: readonly string[]): string => (items.length === 0 ? '-' : items.join(','));
  output.out(
    renderTable(
      ['NAME', 'ROLE', 'GROUPS', 'LOGIN', 'PUBLISH', 'SUBSCRIBE'],
      rows.map((row) => [row.name, row.role, cell(row.groups), cell(row.login), cell(row.publish), cell(row.subscribe)]),
    ),
  );
  return 0;
}

async function remove(name: string, path: string, output: Output, json: boolean): Promise<number> {
  const file = await loadAccessFile(path);
  if (!file.principals.delete(name)) throw new InvalidArgumentError(`"${name}" is not in ${path}`);
  await saveAccessFile(file);
  if (json) {
    output.out(`${JSON.stringify({ removed: name, accessFile: path })}\n`);
    return 0;
  }
  output.out(`removed ${name} from ${path}\nNew connections as ${name} are refused; for Mosquitto run "edgefc broker-config mosquitto" again and reload Mosquitto.\n`);
  return 0;
}

function required(name: string | undefined): string {
  if (name === undefined) throw new UsageError('name the principal: edgefc users add|remove NAME');
  return name;
}
