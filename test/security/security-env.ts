/**
 * A gateway with authentication on (the default), on its embedded broker, with three principals
 * in its access file and a template whose functions grant different callers.
 */
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { GatewayOptions } from '../../gateway/gateway.js';
import { formatAccessFile, type AccessEntry } from '../../gateway/security/access-file.js';
import { writeSecretFile } from '../../gateway/security/private-file.js';
import { hashPassword } from '../../gateway/security/password-hash.js';
import { startTestGateway, type TestGateway } from '../fixtures/test-gateway.js';
import { traversableTempDir } from '../fixtures/temp-dirs.js';

const ROOT = new URL('../../', import.meta.url).pathname;
const SAMPLES = join(ROOT, 'functions');
const FIXTURES = join(ROOT, 'test', 'fixtures', 'gateway-functions');

export const PASSWORDS = { 'sensor-1': 'pw-sensor-1', 'sensor-2': 'pw-sensor-2', op: 'pw-operator' } as const;
export type Name = keyof typeof PASSWORDS;

export interface SecurityEnv {
  gw: TestGateway;
  dir: string;
  login(name: Name): { username: string; password: string };
  close(): Promise<void>;
}

function template(): string {
  const fn = (codeUri: string, extra = ''): string =>
    `        runtime: nodejs20\n        handler: index.handler\n        codeUri: ${JSON.stringify(codeUri)}\n${extra}`;
  return `edgefc: 1
services:
  EdgeFC:
    functions:
      helloworld:
${fn(join(SAMPLES, 'helloworld'), '        invokers: [devices, functions]\n')}
      invoker:
${fn(join(SAMPLES, 'invoker'), '        timeout: 10\n')}
  Sec:
    functions:
      closed:
${fn(join(FIXTURES, 'context'))}
      line3:
${fn(join(FIXTURES, 'context'), "        invokers: ['group:line-3']\n")}
      probe:
${fn(join(FIXTURES, 'probe'), '        timeout: 10\n')}
`;
}

export async function startSecurityEnv(gateway: Partial<GatewayOptions> = {}): Promise<SecurityEnv> {
  // 0711: functions run as their own users and must traverse it to their staged code.
  const dir = await traversableTempDir('edgefc-sec-');
  const templatePath = join(dir, 'template.yml');
  await writeFile(templatePath, template());
  // 1,000 iterations: the format's floor, so the suite does not spend seconds hashing.
  const entry = async (name: Name, role: AccessEntry['role'], groups: string[] = []): Promise<AccessEntry> => ({
    name,
    role,
    password: await hashPassword(PASSWORDS[name], 1000),
    certificate: false,
    groups,
    publish: [],
    subscribe: [],
  });
  const accessFile = join(dir, 'access.yml');
  const entries = [await entry('sensor-1', 'device', ['line-3']), await entry('sensor-2', 'device'), await entry('op', 'operator'), ...(await extraEntries())];
  await writeSecretFile(accessFile, formatAccessFile(entries));
  const gw = await startTestGateway({ templatePath, gateway: { insecure: false, accessFile, dataDir: join(dir, 'data'), ...gateway } });
  return {
    gw,
    dir,
    login: (name) => ({ username: name, password: PASSWORDS[name] }),
    async close() {
      await gw.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** plc-7 logs in with a client certificate only (mutual TLS). */
async function extraEntries(): Promise<AccessEntry[]> {
  return [{ name: 'plc-7', role: 'device', certificate: true, groups: [], publish: [], subscribe: [] }];
}
