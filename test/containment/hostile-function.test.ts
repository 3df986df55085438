/**
 * Functions see only what is theirs (docs/runtime-node.md §10), through a whole gateway run as
 * root: a hostile function tries the gateway's /proc entries, the data directory, and another
 * function's code, home and process; every attempt is denied, while its own code, its home and
 * ordinary calls work. Needs root: only a root gateway gives functions users of their own.
 */
import { chmod, cp, mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FCClient } from '../../src/index.js';
import { rootTitle, runsAsRoot } from '../fixtures/as-root.js';
import { traversableTempDir } from '../fixtures/temp-dirs.js';
import { startTestGateway, type TestGateway } from '../fixtures/test-gateway.js';

const HOSTILE = new URL('../fixtures/gateway-functions/hostile', import.meta.url).pathname;

interface Whoami {
  pid: number;
  uid: number;
  gid: number;
  /** Supplementary groups, as /proc/self/status lists them. */
  groups: string;
  home: string;
  cwd: string;
  codePath: string;
}

describe.skipIf(!runsAsRoot('hostile function'))(rootTitle('a hostile function, the gateway running as root'), () => {
  let dir: string;
  let env: TestGateway;
  let client: FCClient;

  beforeAll(async () => {
    dir = await traversableTempDir('edgefc-hostile-');
    // The deployer keeps code closed to others (0700): the staged copies are all a function can reach.
    const sources = join(dir, 'src');
    await mkdir(sources, { mode: 0o700 });
    await chmod(sources, 0o700);
    for (const name of ['hostile', 'neighbour']) await cp(HOSTILE, join(sources, name), { recursive: true });
    const template = join(dir, 'template.yml');
    const fn = (name: string): string => `      ${name}:\n        runtime: nodejs20\n        handler: index.handler\n        codeUri: ${JSON.stringify(join(sources, name))}\n`;
    await writeFile(template, `edgefc: 1\nservices:\n  Test:\n    functions:\n${fn('hostile')}${fn('neighbour')}`);
    env = await startTestGateway({ templatePath: template });
    client = env.client();
  });

  afterAll(async () => {
    await env?.stop();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  async function call(functionName: string, payload: string): Promise<Record<string, unknown>> {
    const { payload: result } = await client.invokeFunction({ serviceName: 'Test', functionName, payload, timeout: 10_000 });
    return JSON.parse(String(result)) as Record<string, unknown>;
  }

  it('each function runs as a user of its own, no supplementary groups, at home in its staged code', async () => {
    const hostile = (await call('hostile', 'whoami')) as unknown as Whoami;
    const neighbour = (await call('neighbour', 'whoami')) as unknown as Whoami;
    for (const who of [hostile, neighbour]) {
      expect(who.uid).not.toBe(0);
      expect(who.gid).toBe(who.uid);
      expect(who.groups).toBe('');
      expect(who.cwd).toBe(who.codePath);
      expect(who.codePath).toBe(join(env.dataDir, 'code', String(who.uid), who.codePath.split('/').at(-1) ?? ''));
      expect(who.home).toBe(join(env.dataDir, 'home', String(who.uid)));
    }
    expect(hostile.uid).not.toBe(neighbour.uid);
    // Same codeUri content, different users: two copies, each closed to the other.
    expect(hostile.codePath).not.toBe(neighbour.codePath);
  });

  it("every attempt on what is not its own is denied; its own code and home work", async () => {
    const neighbour = (await call('neighbour', 'whoami')) as unknown as Whoami;
    const outcome = await call(
      'hostile',
      JSON.stringify({
        snoop: {
          dataDir: env.dataDir,
          logFile: join(env.dataDir, 'logs', 'Test', 'hostile.log'),
          otherCode: neighbour.codePath,
          otherSource: join(dir, 'src', 'neighbour', 'index.js'),
          otherHome: neighbour.home,
          otherPid: neighbour.pid,
        },
      }),
    );
    expect(outcome).toEqual({
      gatewayEnviron: 'EACCES',
      gatewayFds: 'EACCES',
      gatewayFd0: 'EACCES',
      gatewayMem: 'EACCES',
      gatewayCmdline: 'ok',
      signalGateway: 'EPERM',
      listDataDir: 'EACCES',
      readStore: 'EACCES',
      readStoreWal: 'EACCES',
      readUidMap: 'EACCES',
      listLogs: 'EACCES',
      readLog: 'EACCES',
      listStagedCode: 'EACCES',
      listOtherCode: 'EACCES',
      readOtherCode: 'EACCES',
      readOtherSource: 'EACCES',
      listOtherHome: 'EACCES',
      otherEnviron: 'EACCES',
      signalOther: 'EPERM',
      readOwnCode: 'ok',
      writeOwnCode: 'EACCES',
      chmodOwnCode: 'EPERM',
      writeOwnHome: 'ok',
    });
  });

  it('its ordinary calls still work', async () => {
    const { payload } = await client.invokeFunction({ serviceName: 'Test', functionName: 'hostile', payload: 'fine' });
    expect(String(payload)).toBe('behaved');
  });
});
