/**
 * `edgefc start` (alias `edgefc gateway`): run the gateway in the foreground until SIGINT/SIGTERM;
 * with `--nats`, one of several gateways of a NATS cluster (docs/cluster.md).
 */
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { FCClient } from 'edgefc';
import { STORE_SYNC_MODES, type StoreSync } from '../../async/async-store.js';
import { parseFunctionUser } from '../../containment/function-user.js';
import { Gateway, type GatewayOptions } from '../../gateway.js';
import type { NatsTlsFiles } from '../../transport/nats-link.js';
import { createStreamLogger, type LogLevel } from '../../logging/logger.js';
import { UsageError } from '../usage-error.js';
import { printFailure, type Output } from './common.js';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { defaultDataDir } from '../../data-dir.js';
import type { BrokerTlsOptions } from '../../broker/embedded-broker.js';
import { LOCAL_CREDENTIAL_FILE, readLocalCredential } from '../../security/local-credential.js';
import { readGatewayLogin } from '../../security/gateway-secrets.js';
import { resolveConnection } from '../connection.js';
import { redactUrl } from 'edgefc/mqtt';
import { DEFAULT_KEEP_DEPLOYMENTS, MAX_KEEP_DEPLOYMENTS } from '../../deployments/deployments.js';
import { resolveTraceExport } from '../../tracing/trace-export-config.js';

export const START_USAGE = `Usage: edgefc start [options]      (alias: edgefc gateway)

Run the gateway: the registry from a template, its functions, and an embedded MQTT broker
unless --broker names an external one.

Options:
  --template F        services and functions, kept as a new deployment in the data directory
                      unless one with the same content is kept already (then the current
                      deployment serves). Without it: the current deployment, or nothing until
                      "edgefc deploy --template F" (the bundled samples: functions/template.yml)
  --max-bundle-bytes N   largest bundle "edgefc deploy" may upload (default 67108864, 64 MiB)
  --memory-budget MB  memory every function instance counts its memorySize against (default: 75% of
                      the box's memory). A template whose provisioned instances (minInstances ×
                      memorySize) exceed it is refused; past it, on-demand calls wait or get ResourceThrottled
  --keep-deployments N   deployments kept in the data directory (default ${DEFAULT_KEEP_DEPLOYMENTS}); older ones are
                         removed, never the current one, the one before it, nor one a kept one builds on
  --host H            embedded broker's listen address (default 127.0.0.1; 0.0.0.0 serves the network)
  --port P            embedded broker's port (default 1883)
  --broker URL        use an external broker (e.g. Mosquitto) instead of the embedded one
  --username U, --password-file F   the gateway's login to the external broker (or
                      --password-stdin, or EDGEFC_PASSWORD; never a password on the command line).
                      Without --username: <data>/gateway.credentials when it exists
                      (written by "edgefc broker-config mosquitto")
  --nats URL[,URL…]   serve from a NATS cluster (docs/cluster.md): connect natively to these
                      nats-server nodes and take calls in the gateways' queue group, beside other
                      gateways. Devices connect to nats-server's MQTT listener; --broker then
                      names that listener for the gateway's functions. The login is as for
                      --broker (default <data>/gateway.credentials from "edgefc broker-config nats")
  --nats-ca F         CA file that signs the nats-server certificates (TLS)
  --nats-cert F, --nats-key F   the gateway's client certificate, when the servers verify clients
  --nats-replicas N   copies of the cluster's state (deployment buckets, Async stream and records)
                      when this gateway creates them: 1, 3 or 5 (default 3 when the server is
                      in a cluster, 1 on a single node; docs/cluster.md)
  --nats-ack-wait S   seconds before an Async call taken by a gateway that died goes to another
                      (default 30; runs longer than this are kept alive by in-progress acks)
  --nats-lost-check S seconds between this gateway's checks for accepted Async calls the stream
                      no longer holds, published again from their records (default 120;
                      each check reads every record once; docs/cluster.md)

Security (docs/security.md):
  --access F          the access file: principals, roles, password hashes (default <data>/access.yml;
                      manage it with "edgefc users"). The local operator credential the CLI on
                      this box uses is made at start: <data>/operator.credentials (mode 0600)
  --tls-cert F, --tls-key F   serve mqtts (TLS) on the embedded broker (port 8883 by convention)
  --tls-ca F          accept client certificates signed by this CA; their CN names the principal
  --trusted-templates D   a directory "deploy" may load templates from (repeatable;
                      default: the directory of --template)
  --insecure          no authentication and no authorization: anyone who reaches the broker may
                      call any function and deploy code. Closed lab networks only
  --data DIR          data directory: the durable Async store (default $EDGEFC_DATA_DIR, else ./.edgefc)
  --store-sync S      full | normal | off: full survives power loss, normal a killed process (default full)
  --log-level L       debug | info | warn | error (default info)
  --log-format F      text | json: json writes one object per line (time, level, message, fields;
                      functions' lines: service, function, requestId, level, text) (default text)
  --metrics A         HOST:PORT serving /healthz, /readyz and Prometheus /metrics, or off
                      (default 127.0.0.1:9464, skipped with a warning if taken). /metrics wants
                      "Authorization: Bearer" + the token in <data>/metrics.token (mode 0600)
  --otlp-endpoint URL export a span per call to this OTLP/HTTP collector (e.g. http://127.0.0.1:4318;
                      default $OTEL_EXPORTER_OTLP_ENDPOINT, else none; docs/operations.md §4)
  --otlp-headers-file F   headers for the collector (NAME=VALUE lines, mode 0600), or
                      $OTEL_EXPORTER_OTLP_HEADERS; never on the command line
  --demo              make a first invocation of the sample EdgeFC/helloworld at start (npm start)
  --skip-demo         do not (the default; kept for older scripts)
  --function-user U   who functions run as when the gateway is root: auto (a uid per function,
                      default), uids:FIRST-LAST, UID[:GID] or a user name (one for all), off

SIGHUP (kill -HUP PID) reloads the template without a restart, as "edgefc deploy" does.
Functions' logs: <data>/logs/SERVICE/FUNCTION.log ("edgefc logs S/F").
`;

/** What the README's samples are, as an operator would name them from a clone. */
const SAMPLE_TEMPLATE_HINT = 'functions/template.yml';

export const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];

function parsePort(value: string | undefined): number {
  if (value === undefined) return 1883;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port must be 0–65535 (got "${value}")`);
  return port;
}

/** `--metrics HOST:PORT` or `off`; absent: 127.0.0.1:9464, given up with a warning when taken. */
export function parseMetricsAddress(value: string | undefined): { host: string; port: number; optional?: boolean } | undefined {
  if (value === undefined) return { host: '127.0.0.1', port: 9464, optional: true };
  if (value === 'off') return undefined;
  const match = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(value);
  const port = Number(match?.[3]);
  if (match === null || port > 65535) throw new UsageError(`--metrics must be HOST:PORT or off (got "${value}")`);
  return { host: match[1] ?? match[2] ?? '127.0.0.1', port };
}

/** What the parser accepts; also the command table's flags (command-table.ts: help, completion). */
export const START_OPTIONS = {
  template: { type: 'string' },
  'max-bundle-bytes': { type: 'string' },
  'keep-deployments': { type: 'string' },
  'memory-budget': { type: 'string' },
  demo: { type: 'boolean', default: false },
  host: { type: 'string' },
  port: { type: 'string' },
  broker: { type: 'string' },
  nats: { type: 'string' },
  'nats-ca': { type: 'string' },
  'nats-cert': { type: 'string' },
  'nats-key': { type: 'string' },
  'nats-replicas': { type: 'string' },
  'nats-ack-wait': { type: 'string' },
  'nats-lost-check': { type: 'string' },
  username: { type: 'string' },
  password: { type: 'string' },
  'password-file': { type: 'string' },
  'password-stdin': { type: 'boolean', default: false },
  data: { type: 'string' },
  access: { type: 'string' },
  'tls-cert': { type: 'string' },
  'tls-key': { type: 'string' },
  'tls-ca': { type: 'string' },
  'trusted-templates': { type: 'string', multiple: true },
  insecure: { type: 'boolean', default: false },
  'store-sync': { type: 'string', default: 'full' },
  'log-level': { type: 'string', default: 'info' },
  'log-format': { type: 'string', default: 'text' },
  metrics: { type: 'string' },
  'otlp-endpoint': { type: 'string' },
  'otlp-headers-file': { type: 'string' },
  'skip-demo': { type: 'boolean', default: false },
  'function-user': { type: 'string' },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

export async function runStart(argv: string[], output: Output): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: START_OPTIONS,
  });
  if (values.help) {
    output.out(START_USAGE);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected arguments: ${positionals.join(' ')}`);
  const level = values['log-level'] as LogLevel;
  if (!LOG_LEVELS.includes(level)) throw new UsageError(`--log-level must be one of ${LOG_LEVELS.join(', ')}`);
  const format = values['log-format'];
  if (format !== 'text' && format !== 'json') throw new UsageError('--log-format must be text or json');
  const metrics = parseMetricsAddress(values.metrics);
  const storeSync = values['store-sync'] as StoreSync;
  if (!STORE_SYNC_MODES.includes(storeSync)) throw new UsageError(`--store-sync must be one of ${STORE_SYNC_MODES.join(', ')}`);
  const external = values.broker !== undefined || values.nats !== undefined;
  if (external && (values.host !== undefined || values.port !== undefined)) {
    throw new UsageError('--host and --port set the embedded broker; they do not go with --broker or --nats');
  }
  const nats = parseNats(values);

  if (values.password !== undefined) {
    throw new UsageError('--password is not accepted: a password on the command line is visible to every local user (ps). Use --password-file F, --password-stdin or EDGEFC_PASSWORD');
  }
  if (!external && (values.username !== undefined || values['password-file'] !== undefined || values['password-stdin'])) {
    throw new UsageError('--username and --password-file are the gateway\'s login to an external broker or NATS: they go with --broker or --nats (the embedded broker\'s logins are in the access file: edgefc users)');
  }
  if ((values['tls-cert'] === undefined) !== (values['tls-key'] === undefined)) throw new UsageError('--tls-cert and --tls-key go together');
  if (values['tls-ca'] !== undefined && values['tls-cert'] === undefined) throw new UsageError('--tls-ca needs --tls-cert and --tls-key');
  if (external && values['tls-cert'] !== undefined) throw new UsageError('--tls-* set the embedded broker\'s listener; they do not go with --broker or --nats (--nats-ca, --nats-cert, --nats-key)');
  const dataDir = values.data ?? defaultDataDir();
  let gateway: Gateway;
  try {
    // The external broker's login follows the CLI's rules (no password in argv); without one,
    // the login broker-config made for this data directory, if any.
    const login: { username?: string; password?: string } = !external
      ? {}
      : values.username === undefined
        ? ((await readGatewayLogin(dataDir)) ?? {})
        : await resolveConnection({ ...values, broker: values.broker ?? nats?.servers[0] ?? '', credentials: undefined });
    const tls = await readTls(values['tls-cert'], values['tls-key'], values['tls-ca']);
    const maxBundleBytes = values['max-bundle-bytes'] === undefined ? undefined : Number(values['max-bundle-bytes']);
    if (maxBundleBytes !== undefined && (!Number.isInteger(maxBundleBytes) || maxBundleBytes < 1)) throw new UsageError('--max-bundle-bytes must be a whole number of bytes');
    const keepDeployments = values['keep-deployments'] === undefined ? undefined : Number(values['keep-deployments']);
    if (keepDeployments !== undefined && (!Number.isInteger(keepDeployments) || keepDeployments < 1 || keepDeployments > MAX_KEEP_DEPLOYMENTS)) {
      throw new UsageError(`--keep-deployments must be a whole number from 1 to ${MAX_KEEP_DEPLOYMENTS}`);
    }
    const memoryBudgetMB = values['memory-budget'] === undefined ? undefined : Number(values['memory-budget']);
    if (memoryBudgetMB !== undefined && (!Number.isInteger(memoryBudgetMB) || memoryBudgetMB < 64)) throw new UsageError('--memory-budget must be a whole number of MB, at least 64 (the smallest memorySize)');
    const traceExport = await resolveTraceExport({ endpoint: values['otlp-endpoint'], headersFile: values['otlp-headers-file'] });
    gateway = await Gateway.start({
      ...(traceExport === undefined ? {} : { traceExport }),
      ...(values.template === undefined ? {} : { templatePath: values.template }),
      ...(maxBundleBytes === undefined ? {} : { maxBundleBytes }),
      ...(keepDeployments === undefined ? {} : { keepDeployments }),
      ...(memoryBudgetMB === undefined ? {} : { memoryBudgetMB }),
      logger: createStreamLogger({ level, format }),
      ...(metrics === undefined ? {} : { metrics }),
      port: parsePort(values.port),
      storeSync,
      dataDir,
      insecure: values.insecure,
      ...(values.access === undefined ? {} : { accessFile: values.access }),
      ...(tls === undefined ? {} : { tls }),
      ...(values['trusted-templates'] === undefined ? {} : { trustedTemplateDirs: values['trusted-templates'] }),
      ...(values.host === undefined ? {} : { host: values.host }),
      ...(values.broker === undefined ? {} : { brokerUrl: values.broker }),
      ...(nats === undefined ? {} : { nats }),
      ...(login.username === undefined ? {} : { username: login.username }),
      ...(login.password === undefined ? {} : { password: login.password }),
      ...(values['function-user'] === undefined ? {} : { functionUser: parseFunctionUser(values['function-user']) }),
    });
  } catch (error) {
    if (error instanceof UsageError) throw error;
    printFailure(output, error, false);
    return 1;
  }

  const stopped = new Promise<void>((resolve) => {
    let signals = 0;
    const onSignal = (signal: NodeJS.Signals): void => {
      signals += 1;
      if (signals > 1) process.exit(130); // a second Ctrl-C means now
      output.err(`\n${signal}: stopping the gateway (Ctrl-C again to force)\n`);
      gateway.stop().then(resolve, resolve);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
  // SIGHUP: redeploy the template file as it is now (docs/lifecycle.md); a bad one is refused
  // and the gateway keeps serving the old one.
  process.on('SIGHUP', () => {
    gateway.redeploy().then(
      (result) => output.err(`SIGHUP: redeployed ${result.template}: ${result.functions} function(s)\n`),
      (error: unknown) => {
        output.err('SIGHUP: redeploy refused, the previous template keeps serving:\n');
        printFailure(output, error, false);
      },
    );
  });

  const where = nats !== undefined ? `NATS ${nats.servers.map(redactUrl).join(',')}` : `${redactUrl(gateway.brokerUrl)} (${gateway.embedded ? 'embedded broker' : 'external broker'})`;
  output.out(`edgefc gateway ready on ${where}, ${gateway.registry.functions().length} function(s)\n`);
  if (gateway.registry.functions().length === 0) {
    output.out(`no functions deployed yet: deploy a template with\n  npx edgefc deploy --template ${SAMPLE_TEMPLATE_HINT}\n(or start with --template F)\n`);
  }
  if (values.demo && !values['skip-demo']) await firstInvocation(gateway, output, values.insecure ? undefined : join(dataDir, LOCAL_CREDENTIAL_FILE));
  await stopped;
  return 0;
}

/** Show the gateway working end to end: one real call through the broker, as a device makes it. */
async function firstInvocation(gateway: Gateway, output: Output, credentialFile: string | undefined): Promise<void> {
  const sample = gateway.registry.find('EdgeFC', 'helloworld');
  if (sample === undefined) return;
  // As the CLI on this box will: with the local operator credential the gateway (embedded broker)
  // or "edgefc broker-config" (Mosquitto) wrote.
  const login = credentialFile === undefined ? undefined : await readLocalCredential(credentialFile).catch(() => undefined);
  const client = new FCClient({
    brokerUrl: gateway.brokerUrl,
    timeout: 15_000,
    ...(login === undefined ? {} : { username: login.username, password: login.password }),
  });
  const started = performance.now();
  try {
    const { payload } = await client.invokeFunction({ serviceName: 'EdgeFC', functionName: 'helloworld', payload: 'hello from edgefc start' });
    const ms = (performance.now() - started).toFixed(1);
    output.out(`first invocation: EdgeFC/helloworld -> ${JSON.stringify(String(payload))} (${ms} ms, cold start included)\n`);
    // The CLI takes the broker from the credential file it finds in the data directory.
    const broker = gateway.brokerUrl === 'mqtt://127.0.0.1:1883' || login !== undefined ? '' : ` --broker ${redactUrl(gateway.brokerUrl)}`;
    output.out(`try:  npx edgefc invoke EdgeFC/helloworld${broker}\n      npx edgefc invoke EdgeFC/invoker${broker}\n      npx edgefc list${broker}\n`);
  } catch (error) {
    output.err('first invocation failed:\n');
    printFailure(output, error, false);
  } finally {
    await client.close();
  }
}

/** `--nats URL[,URL…]` and its TLS files; undefined without --nats. */
function parseNats(values: {
  nats?: string | undefined;
  'nats-ca'?: string | undefined;
  'nats-cert'?: string | undefined;
  'nats-key'?: string | undefined;
  'nats-replicas'?: string | undefined;
  'nats-ack-wait'?: string | undefined;
  'nats-lost-check'?: string | undefined;
}): NonNullable<GatewayOptions['nats']> | undefined {
  const tlsGiven = values['nats-ca'] !== undefined || values['nats-cert'] !== undefined || values['nats-key'] !== undefined;
  if (values.nats === undefined) {
    if (tlsGiven) throw new UsageError('--nats-ca, --nats-cert and --nats-key go with --nats');
    if (values['nats-replicas'] !== undefined || values['nats-ack-wait'] !== undefined || values['nats-lost-check'] !== undefined) {
      throw new UsageError('--nats-replicas, --nats-ack-wait and --nats-lost-check go with --nats');
    }
    return undefined;
  }
  const replicas = values['nats-replicas'] === undefined ? undefined : Number(values['nats-replicas']);
  // JetStream keeps 1, 3 or 5 copies (an even count has no majority to gain).
  if (replicas !== undefined && ![1, 3, 5].includes(replicas)) throw new UsageError('--nats-replicas must be 1, 3 or 5');
  const ackWait = values['nats-ack-wait'] === undefined ? undefined : Number(values['nats-ack-wait']);
  if (ackWait !== undefined && !(Number.isInteger(ackWait) && ackWait >= 3 && ackWait <= 3600)) throw new UsageError('--nats-ack-wait must be a whole number of seconds from 3 to 3600');
  const lostCheck = values['nats-lost-check'] === undefined ? undefined : Number(values['nats-lost-check']);
  if (lostCheck !== undefined && !(Number.isInteger(lostCheck) && lostCheck >= 2 && lostCheck <= 86_400)) throw new UsageError('--nats-lost-check must be a whole number of seconds from 2 to 86400');
  const servers = values.nats.split(',').map((url) => url.trim());
  for (const url of servers) {
    if (!/^(nats|tls):\/\/[^\s/]+$/.test(url)) throw new UsageError(`--nats takes nats://HOST:PORT or tls://HOST:PORT, comma-separated (got "${redactUrl(url)}")`);
    if (/@/.test(url)) throw new UsageError('--nats: no login in the URL (argv is visible to every local user): --username with --password-file, or <data>/gateway.credentials');
  }
  if ((values['nats-cert'] === undefined) !== (values['nats-key'] === undefined)) throw new UsageError('--nats-cert and --nats-key go together');
  const tls: NatsTlsFiles = {
    ...(values['nats-ca'] === undefined ? {} : { caFile: values['nats-ca'] }),
    ...(values['nats-cert'] === undefined ? {} : { certFile: values['nats-cert'] }),
    ...(values['nats-key'] === undefined ? {} : { keyFile: values['nats-key'] }),
  };
  return {
    servers,
    ...(tlsGiven ? { tls } : {}),
    ...(replicas === undefined ? {} : { replicas }),
    ...(ackWait === undefined ? {} : { asyncAckWaitMs: ackWait * 1000 }),
    ...(lostCheck === undefined ? {} : { asyncLostCallCheckMs: lostCheck * 1000 }),
  };
}

async function readTls(cert: string | undefined, key: string | undefined, ca: string | undefined): Promise<BrokerTlsOptions | undefined> {
  if (cert === undefined || key === undefined) return undefined;
  const read = async (file: string, flag: string): Promise<Buffer> => {
    try {
      return await readFile(file);
    } catch (error) {
      throw new UsageError(`cannot read ${flag} ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
    }
  };
  return {
    cert: await read(cert, '--tls-cert'),
    key: await read(key, '--tls-key'),
    ...(ca === undefined ? {} : { ca: await read(ca, '--tls-ca') }),
  };
}
