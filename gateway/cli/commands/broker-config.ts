/**
 * `edgefc broker-config mosquitto`: Mosquitto's password file, ACL file and config snippet, from
 * the access file and the template (gateway/security/mosquitto-config.ts), with the gateway's own
 * login and its functions' logins (docs/security.md §4).
 */
import { stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { EdgeFCError } from 'edgefc/errors';
import { defaultDataDir } from '../../data-dir.js';
import { SAMPLE_TEMPLATE } from '../../package-root.js';
import { triggerFilters } from '../../registry/deployer.js';
import { loadTemplate } from '../../registry/load-template.js';
import { Isolation, type FunctionSpec } from '../../registry/types.js';
import { loadAccessFile } from '../../security/access-file.js';
import { deriveFunctionPassword, functionPrincipalName, IN_PROCESS_FUNCTION } from '../../security/function-principals.js';
import { ensureGatewayLogin, ensureGatewaySecret, GATEWAY_CREDENTIAL_FILE } from '../../security/gateway-secrets.js';
import { ensureLocalOperator, LOCAL_CREDENTIAL_FILE, LOCAL_OPERATOR } from '../../security/local-credential.js';
import { mosquittoConfig, type FunctionLogin, type MosquittoTlsListener } from '../../security/mosquitto-config.js';
import { hashPassword } from '../../security/password-hash.js';
import { ensureBrokerDir, localGroupId, writeBrokerFile, type WrittenFile } from '../broker-files.js';
import { isFileSystemError, UsageError } from '../usage-error.js';
import { runBrokerConfigNats } from './broker-config-nats.js';
import { printFailure, type Output } from './common.js';

export const BROKER_CONFIG_USAGE = `Usage: edgefc broker-config mosquitto --out DIR [options]
       edgefc broker-config nats --out DIR [options]   (edgefc broker-config nats --help)

Write, from the access file ("edgefc users") and the template, Mosquitto's password file, ACL
file and a config snippet into DIR: passwords, acl and edgefc.conf. Include edgefc.conf in
mosquitto.conf (or write into /etc/mosquitto/conf.d), reload Mosquitto, and start the gateway
with "edgefc start --broker mqtt://HOST:PORT": it logs in with <data>/gateway.credentials, and
its functions with logins derived from <data>/gateway.secret (both made here, mode 0600).
Run it again, and reload Mosquitto (kill -HUP), after "edgefc users" changes or a deploy that
adds functions, triggers or destinations.

Options:
  --out DIR           where to write (made 0750 if missing). Files are group --file-group and
                      0640 when that group can be given (root, or a setgid directory), else 0600
  --file-group G      the group Mosquitto reads as after dropping root (default mosquitto)
  --template F        the template the gateway serves (default: the bundled samples)
  --access F          the access file (default <data>/access.yml)
  --data DIR          the gateway's data directory (default $EDGEFC_DATA_DIR, else ./.edgefc)
  --host H, --port P  the listener (default 127.0.0.1 1883; 0.0.0.0 serves the network)
  --tls-cert F, --tls-key F, --tls-ca F   also a mutual-TLS listener whose client certificates'
                      CN is the username: for "certificate: true" principals
  --tls-port P        its port (default 8883)
  --no-local-operator do not make the local operator credential (<data>/${LOCAL_CREDENTIAL_FILE})
                      that the CLI on this box uses
  --json              one JSON object: the files written, principals, functions, notes
`;

/**
 * Machine logins (the gateway's, functions') are 256 random or derived bits: no stretching makes
 * them harder to guess, and Mosquitto checks passwords on its one thread: 1,000 PBKDF2 rounds
 * take ~0.5 ms, the 210,000 of a person's password ~100 ms, so 50 instances starting at once
 * would stall every client for ~5 s.
 */
const MACHINE_LOGIN_ITERATIONS = 1_000;

/** What the parser accepts; also the command table's flags (command-table.ts: help, completion). */
export const BROKER_CONFIG_OPTIONS = {
    out: { type: 'string' },
    'file-group': { type: 'string', default: 'mosquitto' },
    template: { type: 'string', default: SAMPLE_TEMPLATE },
    access: { type: 'string' },
    data: { type: 'string' },
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: '1883' },
    'tls-cert': { type: 'string' },
    'tls-key': { type: 'string' },
    'tls-ca': { type: 'string' },
    'tls-port': { type: 'string', default: '8883' },
    'no-local-operator': { type: 'boolean', default: false },
  json: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
} as const;

export async function runBrokerConfig(argv: string[], output: Output): Promise<number> {
  // nats-server's files have options of their own (broker-config-nats.ts).
  if (argv[0] === 'nats') return runBrokerConfigNats(argv.slice(1), output);
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: BROKER_CONFIG_OPTIONS,
  });
  if (values.help) {
    output.out(BROKER_CONFIG_USAGE);
    return 0;
  }
  const [kind, ...extra] = positionals;
  if (kind !== 'mosquitto') throw new UsageError(kind === undefined ? 'name the broker: edgefc broker-config mosquitto --out DIR' : `"${kind}": mosquitto or nats`);
  if (extra.length > 0) throw new UsageError(`unexpected arguments: ${extra.join(' ')}`);
  if (values.out === undefined) throw new UsageError('--out DIR is required: where to write the password file, ACL file and edgefc.conf');
  const port = parsePort(values.port, '--port');
  const tlsFiles = [values['tls-cert'], values['tls-key'], values['tls-ca']];
  if (tlsFiles.some((file) => file !== undefined) && !tlsFiles.every((file) => file !== undefined)) {
    throw new UsageError('--tls-cert, --tls-key and --tls-ca go together');
  }
  const [certfile, keyfile, cafile] = tlsFiles;
  const tls: MosquittoTlsListener | undefined =
    certfile === undefined || keyfile === undefined || cafile === undefined
      ? undefined
      : { host: values.host, port: parsePort(values['tls-port'], '--tls-port'), certfile: resolve(certfile), keyfile: resolve(keyfile), cafile: resolve(cafile) };
  const dataDir = values.data ?? defaultDataDir();
  const accessPath = values.access ?? join(dataDir, 'access.yml');
  const out = resolve(values.out);

  try {
    const template = await loadTemplate(values.template);
    if (!values['no-local-operator']) {
      const loopback = values.host === '0.0.0.0' || values.host === '::' ? '127.0.0.1' : values.host;
      await ensureLocalOperator(dataDir, accessPath, `mqtt://${loopback.includes(':') ? `[${loopback}]` : loopback}:${port}`);
    }
    const access = await loadAccessFile(accessPath);
    const secret = await ensureGatewaySecret(dataDir);
    const gatewayLogin = await ensureGatewayLogin(dataDir);
    const functions = await functionLogins(template.functions, secret);
    const files = mosquittoConfig({
      principals: [...access.principals.values()],
      gateway: { name: gatewayLogin.username, passwordHash: await hashPassword(gatewayLogin.password, MACHINE_LOGIN_ITERATIONS) },
      functions,
      triggerFilters: triggerFilters(template.functions),
      destinationTopics: destinationTopics(template.functions),
      passwordFile: join(out, 'passwords'),
      aclFile: join(out, 'acl'),
      listener: { host: values.host, port },
      ...(tls === undefined ? {} : { tls }),
    });
    const gid = await localGroupId(values['file-group']);
    const group = gid === undefined ? undefined : { name: values['file-group'], gid };
    await ensureBrokerDir(out, group);
    const written = [
      await writeBrokerFile(out, 'passwords', files.passwords, group),
      await writeBrokerFile(out, 'acl', files.acl, group),
      await writeBrokerFile(out, 'edgefc.conf', files.config, group),
    ];
    if (values.json) {
      output.out(
        `${JSON.stringify({
          files: written.map((file) => ({ path: file.path, mode: file.mode.toString(8), group: file.group ?? null })),
          principals: access.principals.size,
          functions: functions.length,
          gatewayLogin: gatewayLogin.username,
          notes: files.notes,
        })}\n`,
      );
      return 0;
    }
    const roles = countRoles([...access.principals.values()].map((entry) => entry.role));
    output.out(
      [
        ...written.map(describeFile),
        `logins: ${roles}; ${functions.length} function(s); the gateway as ${gatewayLogin.username} (${join(dataDir, GATEWAY_CREDENTIAL_FILE)})`,
        ...(values['no-local-operator'] ? [] : [`the CLI on this box logs in as ${LOCAL_OPERATOR} (${join(dataDir, LOCAL_CREDENTIAL_FILE)})`]),
        ...files.notes.map((note) => `note: ${note}`),
        ...ownershipHints(written, values['file-group'], out),
        ...(tls === undefined || group === undefined ? [] : await tlsReadHints([tls.certfile, tls.keyfile, tls.cafile], group)),
        `next: "include_dir ${out}" in mosquitto.conf (or --out /etc/mosquitto/conf.d), reload Mosquitto (systemctl reload mosquitto, or kill -HUP its pid),`,
        `      then: edgefc start --broker mqtt://${values.host === '0.0.0.0' ? '127.0.0.1' : values.host}:${port}${values.data === undefined ? '' : ` --data ${values.data}`}`,
        '',
      ].join('\n'),
    );
    return 0;
  } catch (error) {
    if (!(error instanceof EdgeFCError) && !isFileSystemError(error)) throw error;
    printFailure(output, error, values.json);
    return 1;
  }
}

/** Every function's login, plus the one `isolation: none` functions share when there are any. */
async function functionLogins(functions: readonly FunctionSpec[], secret: Buffer): Promise<FunctionLogin[]> {
  const wanted = functions.map((fn) => ({ service: fn.serviceName, fn: fn.name }));
  if (functions.some((fn) => fn.isolation === Isolation.none)) wanted.push({ ...IN_PROCESS_FUNCTION });
  return Promise.all(
    wanted.map(async ({ service, fn }) => {
      const name = functionPrincipalName(service, fn);
      return { name, function: `${service}/${fn}`, passwordHash: await hashPassword(deriveFunctionPassword(secret, name), MACHINE_LOGIN_ITERATIONS) };
    }),
  );
}

function destinationTopics(functions: readonly FunctionSpec[]): string[] {
  const topics = functions.flatMap((fn) => [fn.asyncConfiguration?.onSuccess, fn.asyncConfiguration?.onFailure]);
  return [...new Set(topics.flatMap((dest) => (dest?.kind === 'mqtt' ? [dest.topic] : [])))].sort();
}

function parsePort(value: string, flag: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new UsageError(`${flag} must be 1–65535 (got "${value}")`);
  return port;
}

function countRoles(roles: readonly string[]): string {
  if (roles.length === 0) return 'no principals in the access file';
  const counts = new Map<string, number>();
  for (const role of roles) counts.set(role, (counts.get(role) ?? 0) + 1);
  return [...counts].map(([role, count]) => `${count} ${role}(s)`).join(', ');
}

function describeFile(file: WrittenFile): string {
  const mode = file.mode.toString(8);
  return `wrote ${file.path} (mode ${mode}${file.group === undefined ? ', owner only' : `, group ${file.group}`})`;
}

/** Mosquitto loads its certificate and key after dropping root too: say so when its group cannot read one. */
async function tlsReadHints(files: readonly string[], group: { name: string; gid: number }): Promise<string[]> {
  const hints: string[] = [];
  for (const file of files) {
    const info = await stat(file).catch(() => undefined);
    if (info === undefined) hints.push(`note: ${file} does not exist (yet): Mosquitto will not start without it`);
    else if ((info.mode & 0o004) === 0 && !(info.gid === group.gid && (info.mode & 0o040) !== 0)) {
      hints.push(`note: Mosquitto started as root reads ${file} as user ${group.name}: chgrp ${group.name} ${file} && chmod 640 ${file}`);
    }
  }
  return hints;
}

/** What to run when Mosquitto (root, dropping to its own user) could not read the files. */
function ownershipHints(written: readonly WrittenFile[], group: string, dir: string): string[] {
  if (written.every((file) => file.group !== undefined)) return [];
  return [
    `note: only this user can read them; if Mosquitto runs as root it reads them as user ${group}: as root run`,
    `      chgrp ${group} ${dir} ${dir}/passwords ${dir}/acl ${dir}/edgefc.conf && chmod 750 ${dir} && chmod 640 ${dir}/passwords ${dir}/acl ${dir}/edgefc.conf`,
  ];
}
