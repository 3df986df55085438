/**
 * The runtime API serves its own instance only (gateway/runtime/runtime-api/peer-check.ts):
 * processes of another uid, of the function's uid outside the instance, and of the gateway's
 * own uid connect to the instance's FC_RUNTIME_API port and get nothing, while the instance
 * goes on working. Needs root, to run the function and the intruders as other users.
 */
import { spawn } from 'node:child_process';
import { chmod, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { rootTitle, runsAsRoot } from '../fixtures/as-root.js';
import { traversableTempDir } from '../fixtures/temp-dirs.js';
import { test } from '../runtime-contract/harness.js';
import { targets, type ContractTarget } from '../runtime-contract/targets.js';
import { invocation, parseResult } from '../runtime/harness.js';

const FUNCTION_UID = 2_000_060_002;
const OTHER_UID = 2_000_060_003;

/** The request each prober sends: answered at once (404, no such invocation) on a served connection. */
const PROBE_REQUEST = 'POST /2020-11-11/runtime/invocation/not-a-call/response HTTP/1.1\\r\\nHost: x\\r\\nContent-Length: 0\\r\\nConnection: close\\r\\n\\r\\n';

/** Node source: send PROBE_REQUEST to the API on a new connection, call back with the bytes answered. */
const probeSource = (port: string): string => `
  (done) => {
    const net = require('node:net');
    let bytes = 0;
    const socket = net.connect(${port}, '127.0.0.1', () => socket.write('${PROBE_REQUEST}'));
    socket.on('data', (chunk) => { bytes += chunk.length; });
    socket.on('close', () => done(bytes));
    socket.on('error', () => undefined);
  }`;

/**
 * A runtime API client as fc-runtime-go-sdk is one: polls /next and answers who it is and where
 * its API is; for the event "probe" it first sends the probe itself, from inside the instance.
 */
const CLIENT = `#!${process.execPath}
'use strict';
const http = require('node:http');
const [host, port] = process.env.FC_RUNTIME_API.split(':');
const probe = ${probeSource('port')};
const base = '/2020-11-11/runtime/invocation';
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const request = (method, path, body) => new Promise((resolve, reject) => {
  const req = http.request({ host, port: Number(port), method, path, agent }, (res) => {
    const chunks = [];
    res.on('data', (chunk) => chunks.push(chunk));
    res.on('end', () => resolve({ headers: res.headers, body: Buffer.concat(chunks) }));
  });
  req.on('error', reject);
  req.end(body);
});
(async () => {
  for (;;) {
    const next = await request('GET', base + '/next');
    const id = next.headers['x-fc-request-id'];
    const me = { api: process.env.FC_RUNTIME_API, pid: process.pid, uid: process.getuid() };
    if (next.body.toString() === 'probe') me.probeBytes = await new Promise((resolve) => probe(resolve));
    await request('POST', base + '/' + encodeURIComponent(id) + '/response', JSON.stringify(me));
  }
})();
`;

/** The bytes a process of `who`, outside the instance, is answered to PROBE_REQUEST on `port`. */
function intrude(port: number, who: { uid?: number; gid?: number }): Promise<{ bytes: number; uid: number }> {
  const script = `
    const done = (bytes) => { console.log(JSON.stringify({ bytes, uid: process.getuid() })); process.exit(0); };
    (${probeSource(String(port))})(done);
    setTimeout(() => done(-1), 5000).unref();`;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', script], { ...who, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.on('error', reject);
    child.on('close', () => resolve(JSON.parse(out) as { bytes: number; uid: number }));
  });
}

describe.skipIf(!runsAsRoot('runtime API peers'))(rootTitle('the runtime API of a go1 instance running as its own user'), () => {
  let codeDir: string;
  let target: ContractTarget;

  beforeAll(async () => {
    codeDir = await traversableTempDir('edgefc-api-peer-');
    await writeFile(join(codeDir, 'bootstrap'), CLIENT);
    await chmod(join(codeDir, 'bootstrap'), 0o755);
    const api = targets.find((candidate) => candidate.spec.runtime === 'go1')!;
    target = {
      ...api,
      spec: { ...api.spec, codeDir, handler: 'bootstrap', runAs: { uid: FUNCTION_UID, gid: FUNCTION_UID, home: tmpdir() } },
    };
  });

  afterAll(async () => {
    if (codeDir !== undefined) await rm(codeDir, { recursive: true, force: true });
  });

  test('refuses another uid, its own uid from outside the instance, and the gateway; serves the instance throughout', async ({ harness }) => {
    const pool = harness.pool(target);
    const first = parseResult<{ api: string; pid: number; uid: number; probeBytes: number }>(await pool.invoke(invocation({ payload: 'probe' })));
    expect(first.uid).toBe(FUNCTION_UID);
    // From inside the instance the probe is served: a 404 answer.
    expect(first.probeBytes).toBeGreaterThan(0);
    const port = Number(first.api.split(':')[1]);

    expect(await intrude(port, { uid: OTHER_UID, gid: OTHER_UID })).toEqual({ bytes: 0, uid: OTHER_UID });
    expect(await intrude(port, { uid: FUNCTION_UID, gid: FUNCTION_UID })).toEqual({ bytes: 0, uid: FUNCTION_UID });
    expect(await intrude(port, {})).toEqual({ bytes: 0, uid: 0 });

    const again = parseResult<{ pid: number }>(await pool.invoke(invocation()));
    expect(again.pid).toBe(first.pid);
    // Said once per instance, with the first reason.
    const refusals = harness.logs.filter((line) => line.message.includes('refused a connection'));
    expect(refusals).toHaveLength(1);
    expect(refusals[0]).toMatchObject({ level: 'warn', message: expect.stringContaining(`belongs to uid ${OTHER_UID}, not the function's ${FUNCTION_UID}`) });
  });
});
