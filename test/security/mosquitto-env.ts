/**
 * A Mosquitto configured by `edgefc broker-config mosquitto` and nothing else: its principals are
 * added with `edgefc users add`, and Mosquitto runs with broker-config's edgefc.conf as its whole
 * config (`mosquitto -c <out>/edgefc.conf`). When the tests run as root, Mosquitto drops to user
 * mosquitto before it reads the password and ACL files, as on a real box, so the files'
 * group and modes are tested too.
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { expect } from 'vitest';
import { startMosquittoProcess, type MosquittoProcess } from '../../bench/lib/mosquitto-process.js';
import type { Output } from '../../gateway/cli/commands/common.js';
import { runUsers } from '../../gateway/cli/commands/users.js';
import { main } from '../../gateway/cli/edgefc.js';
import { Gateway } from '../../gateway/gateway.js';
import type { Logger } from '../../gateway/logging/logger.js';
import { freeLoopbackPort } from '../../gateway/runtime/process/loopback-port.js';
import { readGatewayLogin, type GatewayLogin } from '../../gateway/security/gateway-secrets.js';
import { requireMosquitto } from '../fixtures/brokers.js';
import { waitFor } from '../fixtures/wait.js';

const ROOT = new URL('../../', import.meta.url).pathname;
const SAMPLES = join(ROOT, 'functions');

/**
 * helloworld: devices of group line-3 and functions; invoker: every device; Test/secret: the
 * default (operators and functions); Test/ingest: Async calls from the trigger factory/+/temp.
 */
function templateYaml(): string {
  const fn = (dir: string, extra: string): string =>
    `        runtime: nodejs20\n        handler: index.handler\n        codeUri: ${JSON.stringify(join(SAMPLES, dir))}\n${extra}`;
  return `edgefc: 1
services:
  EdgeFC:
    functions:
      helloworld:
${fn('helloworld', '        invokers: [group:line-3, functions]\n')}
      invoker:
${fn('invoker', '        timeout: 10\n        invokers: [devices]\n')}
  Test:
    functions:
      secret:
${fn('helloworld', '')}
      ingest:
${fn('helloworld', '        triggers:\n          - topic: factory/+/temp\n')}
`;
}

/** PEM files for a mutual-TLS listener (broker-config --tls-*). */
export interface MosquittoTlsFiles {
  certfile: string;
  keyfile: string;
  cafile: string;
}

export interface SecuredMosquitto {
  dir: string;
  dataDir: string;
  templatePath: string;
  broker: MosquittoProcess;
  /** `mqtts://127.0.0.1:<port>` of the mutual-TLS listener, when asked for one. */
  tlsUrl: string | undefined;
  /** Passwords of the principals added so far, by name. */
  passwords: Map<string, string>;
  /** The gateway's login that broker-config wrote in the data directory. */
  gatewayLogin: GatewayLogin;
  /** `edgefc users add NAME --role ROLE …` with a new random password on stdin; resolves with it. */
  addUser(name: string, role: 'device' | 'operator', ...flags: string[]): Promise<string>;
  /** Run broker-config again and make Mosquitto read its files again (SIGHUP), as a person would. */
  reconfigure(): Promise<void>;
  close(): Promise<void>;
}

export async function startSecuredMosquitto(options: { tls?: MosquittoTlsFiles } = {}): Promise<SecuredMosquitto> {
  const dir = await mkdtemp(join(tmpdir(), 'edgefc-sec-'));
  // Mosquitto, dropped to user mosquitto, must reach <dir>/mosquitto; the data directory in it
  // stays 0700, and x-only lists nothing.
  await chmod(dir, 0o711);
  const dataDir = join(dir, 'data');
  const out = join(dir, 'mosquitto');
  const templatePath = join(dir, 'template.yml');
  await writeFile(templatePath, templateYaml());
  const passwords = new Map<string, string>();

  const addUser = async (name: string, role: string, ...flags: string[]): Promise<string> => {
    const password = randomBytes(18).toString('base64url');
    const err: string[] = [];
    const stdin = Readable.from([`${password}\n`]);
    const code = await runUsers(['add', name, '--role', role, ...flags, '--data', dataDir], { out: () => undefined, err: (text) => err.push(text) }, { stdin, prompt: () => undefined });
    expect(code, err.join('')).toBe(0);
    passwords.set(name, password);
    return password;
  };
  await addUser('sensor-1', 'device', '--group', 'line-3', '--publish', 'factory/+/temp');
  await addUser('sensor-2', 'device');
  await addUser('alice', 'operator');

  const tls = options.tls;
  const tlsPort = tls === undefined ? undefined : await freeLoopbackPort();
  const brokerConfig = async (port: number): Promise<void> => {
    const lines: string[] = [];
    const output: Output = { out: (text) => lines.push(text), err: (text) => lines.push(text) };
    const args = ['broker-config', 'mosquitto', '--out', out, '--data', dataDir, '--template', templatePath, '--port', String(port)];
    if (tls !== undefined) args.push('--tls-cert', tls.certfile, '--tls-key', tls.keyfile, '--tls-ca', tls.cafile, '--tls-port', String(tlsPort));
    expect(await main(args, output), lines.join('')).toBe(0);
  };

  let broker: MosquittoProcess | undefined;
  try {
    // Another process may take the free port before Mosquitto binds it: then try another.
    for (let attempt = 0; broker === undefined; attempt += 1) {
      const port = await freeLoopbackPort();
      await brokerConfig(port);
      try {
        broker = await startMosquittoProcess(requireMosquitto(), { port, configFile: join(out, 'edgefc.conf') });
      } catch (error) {
        if (attempt === 2 || !/Address already in use/i.test(String(error))) throw error;
      }
    }
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  const running = broker;
  const gatewayLogin = await readGatewayLogin(dataDir);
  if (gatewayLogin === undefined) throw new Error('broker-config wrote no gateway.credentials');

  return {
    dir,
    dataDir,
    templatePath,
    broker: running,
    tlsUrl: tlsPort === undefined ? undefined : `mqtts://127.0.0.1:${tlsPort}`,
    passwords,
    gatewayLogin,
    addUser,
    async reconfigure() {
      await brokerConfig(running.port);
      const reloads = (): number => running.log().split('Reloading config.').length - 1;
      const before = reloads();
      running.process.kill('SIGHUP');
      // Mosquitto logs this line in its one loop right before it reads the files again, so a
      // CONNECT it handles afterwards sees the new files.
      await waitFor(
        () => {
          if (running.process.exitCode !== null) throw new Error(`mosquitto exited (${running.process.exitCode}):\n${running.log()}`);
          expect(reloads()).toBeGreaterThan(before);
        },
        { timeout: 5_000, interval: 10 },
      );
    },
    async close() {
      await running.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A gateway in this process on `env`'s Mosquitto, logged in as broker-config made it; its log in `lines`. */
export function startGatewayOn(env: SecuredMosquitto, lines: string[] = []): Promise<Gateway> {
  const logger: Logger = {
    debug: () => undefined,
    info: (message) => lines.push(message),
    warn: (message, fields) => lines.push(`WARN ${message} ${JSON.stringify(fields ?? {})}`),
    error: (message, fields) => lines.push(`ERROR ${message} ${JSON.stringify(fields ?? {})}`),
    functionLine: (line) => lines.push(line),
  };
  return Gateway.start({ templatePath: env.templatePath, brokerUrl: env.broker.url, ...env.gatewayLogin, dataDir: env.dataDir, logger });
}
