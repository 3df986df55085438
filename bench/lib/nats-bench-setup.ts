/**
 * What the NATS benches share (nats-sync.ts, nats-async-intake.ts): a three-node cluster with
 * logins on (a bench device and the gateway, bcrypt as nats-server checks), the echo template in
 * a temp directory, and a silent logger for the gateway run in the bench's own process.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bcryptHash, MACHINE_BCRYPT_COST } from '../../gateway/security/bcrypt-hash.js';
import { natsConfig } from '../../gateway/security/nats-config.js';
import { findNatsServer, startNatsCluster, type NatsCluster } from './nats-cluster.js';
import { writeBundledEchoTemplate } from './templates.js';

export interface NatsBenchSetup {
  dir: string;
  templatePath: string;
  devicePassword: string;
  gatewayPassword: string;
  cluster: NatsCluster;
  silent: { debug: () => undefined; info: () => undefined; warn: () => undefined; error: () => undefined; functionLine: () => undefined };
}

export async function startNatsBench(tempPrefix: string): Promise<NatsBenchSetup> {
  const bin = findNatsServer();
  if (bin === undefined) throw new Error('nats-server not found: apt-get install -y nats-server');
  const dir = await mkdtemp(join(tmpdir(), tempPrefix));
  const templatePath = await writeBundledEchoTemplate(dir);
  const devicePassword = 'bench-device-password';
  const gatewayPassword = 'bench-gateway-password';
  const { authorization } = natsConfig({
    principals: [
      { name: 'bench', role: 'device', password: '$7$unused', natsPassword: await bcryptHash(devicePassword, MACHINE_BCRYPT_COST), certificate: false, groups: [], publish: [], subscribe: [] },
    ],
    gateway: { name: 'edgefc_gateway', bcryptHash: await bcryptHash(gatewayPassword, MACHINE_BCRYPT_COST) },
    functions: [],
    triggerFilters: [],
    destinationTopics: [],
  });
  const cluster = await startNatsCluster(bin, { authorization });
  const silent = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined, functionLine: () => undefined };
  return { dir, templatePath, devicePassword, gatewayPassword, cluster, silent };
}
