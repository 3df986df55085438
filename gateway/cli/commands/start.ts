/**
 * `edgefc start` (alias `edgefc gateway`): run the gateway in the foreground until SIGINT/SIGTERM.
 */
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { FCClient } from '../../../src/client/fc-client.js';
import { STORE_SYNC_MODES, type StoreSync } from '../../async/async-store.js';
import { parseFunctionUser } from '../../containment/function-user.js';
import { Gateway } from '../../gateway.js';
import { createStreamLogger, type LogLevel } from '../../logging/logger.js';
import { SAMPLE_TEMPLATE } from '../../package-root.js';
import { UsageError } from '../usage-error.js';
import { credentialsOf, printFailure, type Output } from './common.js';

export const START_USAGE = `Usage: edgefc start [options]      (alias: edgefc gateway)

Run the gateway: the registry from a template, its functions, and an embedded MQTT broker
unless --broker names an external one.

Options:
  --template F        services and functions (default: the bundled samples, functions/template.yml)
  --host H            embedded broker's listen address (default 127.0.0.1; 0.0.0.0 serves the network)
  --port P            embedded broker's port (default 1883)
  --broker URL        use an external broker (e.g. Mosquitto) instead of the embedded one
  --username U, --password P   credentials for the external broker
  --data DIR          data directory: the durable Async store (default $EDGEFC_DATA_DIR, else ./.edgefc)
  --store-sync S      full | normal | off: full survives power loss, normal a killed process (default full)
  --log-level L       debug | info | warn | error (default info)
  --skip-demo         do not make the first sample invocation at start
  --function-user U   who functions run as when the gateway is root: auto (a uid per function,
                      default), uids:FIRST-LAST, UID[:GID] or a user name (one for all), off

SIGHUP (kill -HUP PID) reloads the template without a restart, as "edgefc deploy" does.
Functions' logs: <data>/logs/SERVICE/FUNCTION.log ("edgefc logs S/F").
`;

const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];

function parsePort(value: string | undefined): number {
  if (value === undefined) return 1883;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port must be 0–65535 (got "${value}")`);
  return port;
}

export async function runStart(argv: string[], output: Output): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      template: { type: 'string', default: SAMPLE_TEMPLATE },
      host: { type: 'string' },
      port: { type: 'string' },
      broker: { type: 'string' },
      username: { type: 'string' },
      password: { type: 'string' },
      data: { type: 'string' },
      'store-sync': { type: 'string', default: 'full' },
      'log-level': { type: 'string', default: 'info' },
      'skip-demo': { type: 'boolean', default: false },
      'function-user': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    output.out(START_USAGE);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected arguments: ${positionals.join(' ')}`);
  const level = values['log-level'] as LogLevel;
  if (!LOG_LEVELS.includes(level)) throw new UsageError(`--log-level must be one of ${LOG_LEVELS.join(', ')}`);
  const storeSync = values['store-sync'] as StoreSync;
  if (!STORE_SYNC_MODES.includes(storeSync)) throw new UsageError(`--store-sync must be one of ${STORE_SYNC_MODES.join(', ')}`);
  if (values.broker !== undefined && (values.host !== undefined || values.port !== undefined)) {
    throw new UsageError('--host and --port set the embedded broker; they do not go with --broker');
  }

  let gateway: Gateway;
  try {
    gateway = await Gateway.start({
      templatePath: values.template,
      logger: createStreamLogger({ level }),
      port: parsePort(values.port),
      storeSync,
      ...(values.data === undefined ? {} : { dataDir: values.data }),
      ...(values.host === undefined ? {} : { host: values.host }),
      ...(values.broker === undefined ? {} : { brokerUrl: values.broker }),
      ...credentialsOf(values),
      ...(values['function-user'] === undefined ? {} : { functionUser: parseFunctionUser(values['function-user']) }),
    });
  } catch (error) {
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

  output.out(`edgefc gateway ready on ${gateway.brokerUrl} (${gateway.embedded ? 'embedded broker' : 'external broker'}), ${gateway.registry.functions().length} function(s)\n`);
  if (!values['skip-demo']) await firstInvocation(gateway, output);
  await stopped;
  return 0;
}

/** Show the gateway working end to end: one real call through the broker, as a device makes it. */
async function firstInvocation(gateway: Gateway, output: Output): Promise<void> {
  const sample = gateway.registry.find('EdgeFC', 'helloworld');
  if (sample === undefined) return;
  const client = new FCClient({ brokerUrl: gateway.brokerUrl, timeout: 15_000 });
  const started = performance.now();
  try {
    const { payload } = await client.invokeFunction({ serviceName: 'EdgeFC', functionName: 'helloworld', payload: 'hello from edgefc start' });
    const ms = (performance.now() - started).toFixed(1);
    output.out(`first invocation: EdgeFC/helloworld -> ${JSON.stringify(String(payload))} (${ms} ms, cold start included)\n`);
    const broker = gateway.brokerUrl === 'mqtt://127.0.0.1:1883' ? '' : ` --broker ${gateway.brokerUrl}`;
    output.out(`try:  npx edgefc invoke EdgeFC/helloworld${broker}\n      npx edgefc invoke EdgeFC/invoker${broker}\n      npx edgefc list${broker}\n`);
  } catch (error) {
    output.err('first invocation failed:\n');
    printFailure(output, error, false);
  } finally {
    await client.close();
  }
}
