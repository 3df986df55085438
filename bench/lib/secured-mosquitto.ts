/**
 * The bench's Mosquitto with authentication on, configured the way README tells a user to:
 * `edgefc broker-config mosquitto` from the access file and the template (password file, per-user
 * ACL, edgefc.conf), and nothing else. The gateway on it logs in with the credential
 * broker-config wrote into its data directory, its functions with their derived logins.
 */
import { join } from 'node:path';
import { main } from '../../gateway/cli/edgefc.js';
import { freeLoopbackPort } from '../../gateway/runtime/process/loopback-port.js';
import { readGatewayLogin } from '../../gateway/security/gateway-secrets.js';
import type { BenchLogins, Login } from './bench-logins.js';
import type { BenchMosquitto } from './mosquitto.js';
import { findMosquitto, startMosquittoProcess, type MosquittoProcess } from './mosquitto-process.js';

export interface SecuredBenchMosquitto extends BenchMosquitto {
  /** The data directory broker-config wrote the gateway's login into: the gateway's. */
  dataDir: string;
  gatewayLogin: Login;
}

export async function startSecuredMosquitto(logins: BenchLogins, templatePath: string, name = 'mosquitto'): Promise<SecuredBenchMosquitto> {
  const bin = findMosquitto();
  if (bin === undefined) throw new Error('mosquitto not found (PATH, /usr/sbin): apt-get install -y mosquitto');
  const dataDir = await logins.dataDir(`gateway-${name}`);
  const out = join(logins.dir, name);
  let broker: MosquittoProcess | undefined;
  // Another process may take the free port before Mosquitto binds it: then try another.
  for (let attempt = 0; broker === undefined; attempt += 1) {
    const port = await freeLoopbackPort();
    const said: string[] = [];
    const args = ['broker-config', 'mosquitto', '--out', out, '--data', dataDir, '--template', templatePath, '--port', String(port), '--no-local-operator'];
    const code = await main(args, { out: (text) => said.push(text), err: (text) => said.push(text) });
    if (code !== 0) throw new Error(`edgefc broker-config failed (${code}): ${said.join('')}`);
    try {
      broker = await startMosquittoProcess(bin, { port, configFile: join(out, 'edgefc.conf') });
    } catch (error) {
      if (attempt === 2 || !/Address already in use/i.test(String(error))) throw error;
    }
  }
  const gatewayLogin = await readGatewayLogin(dataDir);
  if (gatewayLogin === undefined) throw new Error('edgefc broker-config wrote no gateway credential');
  const running = broker;
  return { url: running.url, port: running.port, pid: running.process.pid ?? -1, dataDir, gatewayLogin, close: () => running.close() };
}
