/**
 * `edgefc broker-config nats`: nats-server's `authorization { users: [...] }` block, from the
 * access file and the template (gateway/security/nats-config.ts), with the gateway's own login
 * and its functions' logins (docs/security.md §10, docs/cluster.md).
 */
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { EdgeFCError } from 'edgefc/errors';
import { defaultDataDir } from '../../data-dir.js';
import { SAMPLE_TEMPLATE } from '../../package-root.js';
import { triggerFilters } from '../../registry/deployer.js';
import { loadTemplate } from '../../registry/load-template.js';
import { Isolation, type FunctionSpec } from '../../registry/types.js';
import { loadAccessFile } from '../../security/access-file.js';
import { bcryptHash, MACHINE_BCRYPT_COST } from '../../security/bcrypt-hash.js';
import { deriveFunctionPassword, functionPrincipalName, IN_PROCESS_FUNCTION } from '../../security/function-principals.js';
import { ensureGatewayLogin, ensureGatewaySecret, GATEWAY_CREDENTIAL_FILE } from '../../security/gateway-secrets.js';
import { natsConfig, type NatsFunctionLogin } from '../../security/nats-config.js';
import { ensureBrokerDir, localGroupId, writeBrokerFile } from '../broker-files.js';
import { UsageError } from '../usage-error.js';
import { printFailure, type Output } from './common.js';

export const BROKER_CONFIG_NATS_USAGE = `Usage: edgefc broker-config nats --out DIR [options]

Write, from the access file ("edgefc users add NAME --nats") and the template, nats-server's
users and permissions into DIR/authorization.conf. Include it in every node's config
(include "authorization.conf"), reload every node (nats-server --signal reload), and start each
gateway with "edgefc gateway --nats nats://HOST:4222[,…]": it logs in with
<data>/gateway.credentials, and its functions with logins derived from <data>/gateway.secret
(both made here, mode 0600; copy the data directory's gateway.credentials and gateway.secret to
every gateway of the cluster). See docs/cluster.md.

Options:
  --out DIR           where to write (made 0750 if missing); the file is 0600, or 0640 and
                      group --file-group when that group exists
  --file-group G      the group nats-server reads as (default nats)
  --template F        the template the gateways serve (default: the bundled samples)
  --access F          the access file (default <data>/access.yml)
  --data DIR          the gateway's data directory (default $EDGEFC_DATA_DIR, else ./.edgefc)
`;

export async function runBrokerConfigNats(argv: string[], output: Output): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      out: { type: 'string' },
      'file-group': { type: 'string', default: 'nats' },
      template: { type: 'string', default: SAMPLE_TEMPLATE },
      access: { type: 'string' },
      data: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    output.out(BROKER_CONFIG_NATS_USAGE);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected arguments: ${positionals.join(' ')}`);
  if (values.out === undefined) throw new UsageError('--out DIR is required: where to write authorization.conf');
  const dataDir = values.data ?? defaultDataDir();
  const out = resolve(values.out);
  try {
    const template = await loadTemplate(values.template);
    const access = await loadAccessFile(values.access ?? join(dataDir, 'access.yml'));
    const secret = await ensureGatewaySecret(dataDir);
    const gatewayLogin = await ensureGatewayLogin(dataDir);
    const functions = await functionLogins(template.functions, secret);
    const files = natsConfig({
      principals: [...access.principals.values()],
      gateway: { name: gatewayLogin.username, bcryptHash: await bcryptHash(gatewayLogin.password, MACHINE_BCRYPT_COST) },
      functions,
      triggerFilters: triggerFilters(template.functions),
      destinationTopics: destinationTopics(template.functions),
    });
    const gid = await localGroupId(values['file-group']);
    const group = gid === undefined ? undefined : { name: values['file-group'], gid };
    await ensureBrokerDir(out, group);
    const written = await writeBrokerFile(out, 'authorization.conf', files.authorization, group);
    const users = [...access.principals.values()].filter((entry) => entry.natsPassword !== undefined).length;
    output.out(
      [
        `wrote ${written.path} (mode ${written.mode.toString(8)}${written.group === undefined ? ', owner only' : `, group ${written.group}`})`,
        `logins: ${users} principal(s) with a NATS password; ${functions.length} function(s); the gateway as ${gatewayLogin.username} (${join(dataDir, GATEWAY_CREDENTIAL_FILE)})`,
        ...files.notes.map((note) => `note: ${note}`),
        'next: include "authorization.conf" in every node\'s config, reload every node (nats-server --signal reload);',
        '      each node needs JetStream and mqtt { listen: …, stream_replicas: 3 } (docs/cluster.md),',
        `      then on each gateway box: edgefc gateway --nats nats://HOST:4222${values.data === undefined ? '' : ` --data ${values.data}`}`,
        '',
      ].join('\n'),
    );
    return 0;
  } catch (error) {
    if (!(error instanceof EdgeFCError)) throw error;
    printFailure(output, error, false);
    return 1;
  }
}

/** Every function's login, plus the one `isolation: none` functions share when there are any. */
async function functionLogins(functions: readonly FunctionSpec[], secret: Buffer): Promise<NatsFunctionLogin[]> {
  const wanted = functions.map((fn) => ({ service: fn.serviceName, fn: fn.name }));
  if (functions.some((fn) => fn.isolation === Isolation.none)) wanted.push({ ...IN_PROCESS_FUNCTION });
  return Promise.all(
    wanted.map(async ({ service, fn }) => {
      const name = functionPrincipalName(service, fn);
      return { name, function: `${service}/${fn}`, bcryptHash: await bcryptHash(deriveFunctionPassword(secret, name), MACHINE_BCRYPT_COST) };
    }),
  );
}

function destinationTopics(functions: readonly FunctionSpec[]): string[] {
  const topics = functions.flatMap((fn) => [fn.asyncConfiguration?.onSuccess, fn.asyncConfiguration?.onFailure]);
  return [...new Set(topics.flatMap((dest) => (dest?.kind === 'mqtt' ? [dest.topic] : [])))].sort();
}
