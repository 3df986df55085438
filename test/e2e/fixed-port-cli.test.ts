/**
 * Fixed-port custom servers through a whole gateway and the real CLI (issue 12): FC's
 * `customRuntimeConfig.port` with servers that hard-code it, and start errors the CLI's default
 * `--timeout` (10 s, the same as the start timeout) must not hide behind `RequestTimeout`.
 */
import { chmod, mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { runCli } from '../fixtures/cli-process.js';
import { startTestGateway, type TestGateway } from '../fixtures/test-gateway.js';
import { traversableTempDir } from '../fixtures/temp-dirs.js';

let gw: TestGateway;
let dir: string;

/** A codeUri whose bootstrap is a Node.js server as FC's samples write it: `listen` hard-coded. */
async function code(name: string, listen: string): Promise<string> {
  const codeDir = join(dir, name);
  await mkdir(codeDir, { recursive: true });
  await chmod(codeDir, 0o755);
  const bootstrap = join(codeDir, 'bootstrap');
  await writeFile(
    bootstrap,
    `#!${process.execPath}\nconst server = require('node:http').createServer((req, res) => { req.resume(); req.on('end', () => res.end('pid ' + process.pid)); });\n${listen}\n`,
  );
  await chmod(bootstrap, 0o755);
  return codeDir;
}

const fn = (codeDir: string, extra = ''): string =>
  `        runtime: custom\n        handler: index.handler\n        codeUri: ${JSON.stringify(codeDir)}\n        customRuntimeConfig:\n          port: 9000\n${extra}`;

beforeAll(async () => {
  dir = await traversableTempDir('edgefc-fixed-port-');
  const template = join(dir, 'template.yml');
  await writeFile(
    template,
    `edgefc: 1
services:
  Port:
    functions:
      sample:
${fn(await code('sample', "server.listen(9000, '0.0.0.0');"), '        maxInstances: 2\n')}
      other:
${fn(await code('other', "server.listen(9000, '0.0.0.0');"))}
      wrong:
${fn(await code('wrong', "server.listen(9001, '0.0.0.0');"))}
      silent:
${fn(await code('silent', 'setInterval(() => {}, 1000);'))}
`,
  );
  gw = await startTestGateway({ templatePath: template });
});

afterAll(async () => {
  await gw.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('edgefc invoke, fixed-port custom servers', () => {
  test('two functions on port 9000 both answer (each instance in its own network namespace)', async () => {
    const [sample, other] = await Promise.all([
      runCli(['invoke', 'Port/sample', '--broker', gw.url]),
      runCli(['invoke', 'Port/other', '--broker', gw.url]),
    ]);
    expect(sample.stderr).toBe('');
    expect(sample.stdout).toMatch(/^pid \d+\n$/);
    expect(other.stdout).toMatch(/^pid \d+\n$/);
  });

  test('a server on another port: the CLI prints FunctionNotStarted naming the port, at once', async () => {
    const { code: exit, stderr } = await runCli(['invoke', 'Port/wrong', '--broker', gw.url]);
    expect(exit).not.toBe(0);
    expect(stderr).toContain('FunctionNotStarted');
    expect(stderr).toContain('listens on port 9001, not on port 9000');
  });

  test('a server that never listens: the gateway answers before the CLI\'s default timeout, not RequestTimeout', { timeout: 40_000 }, async () => {
    const { code: exit, stderr } = await runCli(['invoke', 'Port/silent', '--broker', gw.url], 30_000);
    expect(exit).not.toBe(0);
    expect(stderr).toContain('FunctionNotStarted');
    expect(stderr).not.toContain('RequestTimeout');
  });
});
