/**
 * The CLI as a person runs it: `edgefc start` as a real process on a real port, then `edgefc
 * invoke/list/stats` as separate processes against it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freeLoopbackPort } from '../../gateway/runtime/process/loopback-port.js';
import { SAMPLE_TEMPLATE } from '../../gateway/package-root.js';
import { runCli, startCliProcess, stopProcess, type CliProcess } from '../fixtures/cli-process.js';

describe('edgefc CLI', () => {
  let gateway: CliProcess;
  let broker: string;
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'edgefc-cli-'));
    const port = await freeLoopbackPort();
    broker = `mqtt://127.0.0.1:${port}`;
    gateway = startCliProcess(['start', '--template', SAMPLE_TEMPLATE, '--demo', '--port', String(port)]);
    // `start` shows a first invocation working before it says anything else on stdout.
    await gateway.waitForOutput(/first invocation: EdgeFC\/helloworld -> ".*[Hh]ello/);
  });

  afterAll(async () => {
    await stopProcess(gateway);
    await rm(dir, { recursive: true, force: true });
  });

  it('invokes a function and prints its result', async () => {
    const { code, stdout } = await runCli(['invoke', 'EdgeFC/helloworld', '--broker', broker]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/hello/i);
  });

  it('runs a function that calls another through FCClient', async () => {
    const { code, stdout } = await runCli(['invoke', 'EdgeFC/invoker', '--broker', broker]);
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ from: 'EdgeFC/helloworld', payload: expect.stringMatching(/hello/i) });
  });

  it('sends --payload, --file and --context', async () => {
    const fromPayload = await runCli(['invoke', 'EdgeFC/jsonfield', '--payload', '{"key":"from payload"}', '--broker', broker]);
    expect(fromPayload.stdout.trim()).toBe('from payload');
    const file = join(dir, 'event.json');
    await writeFile(file, '{"key":"from file"}');
    const fromFile = await runCli(['invoke', 'EdgeFC/jsonfield', '--file', file, '--broker', broker]);
    expect(fromFile.stdout.trim()).toBe('from file');
    const withContext = await runCli(['invoke', 'EdgeFC/helloworld', '--context', '{"custom":{"data":"cli ctx"}}', '--broker', broker, '--json']);
    expect(withContext.code).toBe(0);
    await gateway.waitForOutput(/cli ctx/);
  });

  it('prints the request ID of an accepted --async call', async () => {
    const { code, stdout } = await runCli(['invoke', 'EdgeFC/helloworld', '--async', '--broker', broker]);
    expect(code).toBe(0);
    expect(stdout.trim()).toMatch(/^[A-Za-z0-9_-]{21}$/);
  });

  it('prints one JSON object with --json', async () => {
    const { code, stdout } = await runCli(['invoke', 'EdgeFC/helloworld', '--json', '--broker', broker]);
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ status: 'ok', requestId: expect.any(String), payload: expect.stringMatching(/hello/i) });
  });

  it('--traceparent continues the caller\'s trace: the stored call carries it; a malformed one is exit 2', async () => {
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const accepted = await runCli(['invoke', 'EdgeFC/helloworld', '--async', '--json', '--traceparent', traceparent, '--tracestate', 'ops=1', '--broker', broker]);
    expect(accepted.code, accepted.stderr).toBe(0);
    const { requestId } = JSON.parse(accepted.stdout) as { requestId: string };
    const got = await runCli(['invocations', 'get', requestId, '--json', '--broker', broker]);
    expect(JSON.parse(got.stdout)).toMatchObject({ invocations: [{ requestId, traceparent, tracestate: 'ops=1' }] });
    for (const args of [['--traceparent', '00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01'], ['--traceparent', `00-${'0'.repeat(32)}-00f067aa0ba902b7-01`], ['--tracestate', 'a=1']]) {
      const bad = await runCli(['invoke', 'EdgeFC/helloworld', ...args, '--broker', broker]);
      expect(bad.code, args.join(' ')).toBe(2);
      expect(bad.stderr).toMatch(/--trace(parent|state)/);
    }
  });

  it('lists services and functions as a table and as JSON', async () => {
    const table = await runCli(['list', '--broker', broker]);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^SERVICE\s+FUNCTION\s+RUNTIME/m);
    expect(table.stdout).toMatch(/^EdgeFC\s+helloworld\s+nodejs20\s+index\.handler/m);
    const json = await runCli(['list', '--json', '--broker', broker]);
    const parsed = JSON.parse(json.stdout) as { services: { name: string; functions: { name: string }[] }[] };
    expect(parsed.services[0]?.functions.map((f) => f.name)).toContain('invoker');
  });

  it('shows stats', async () => {
    const { code, stdout } = await runCli(['stats', '--broker', broker]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^EdgeFC\s+helloworld\s+\d+\s+\d+\s+\d+\s+[1-9]/m);
  });

  it('fails with the error code and exit 1 when the call fails', async () => {
    const missing = await runCli(['invoke', 'EdgeFC/nosuch', '--broker', broker]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('FunctionNotFound');
    const json = await runCli(['invoke', 'EdgeFC/jsonfield', '--payload', 'not json', '--json', '--broker', broker]);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({ error: { code: 'HandledInvocationError' } });
  });

  it('fails with exit 2 on a bad command line', async () => {
    for (const args of [['invoke', 'helloworld'], ['invoke', 'EdgeFC/helloworld', '--context', '[1]'], ['invoke', 'A/b', '--timeout', 'soon'], ['frobnicate'], ['invoke', 'A/b', '--nope']]) {
      const { code, stderr } = await runCli(args);
      expect(code, args.join(' ')).toBe(2);
      expect(stderr.length).toBeGreaterThan(0);
    }
  });

  it('says clearly when no gateway is reachable', async () => {
    const port = await freeLoopbackPort();
    const { code, stderr } = await runCli(['invoke', 'EdgeFC/helloworld', '--broker', `mqtt://127.0.0.1:${port}`, '--timeout', '500']);
    expect(code).toBe(1);
    expect(stderr).toMatch(/ServiceUnavailable: .*unreachable/);
  });
});

describe('edgefc start failures', () => {
  it('names the file, the field and why for a bad template', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'edgefc-bad-'));
    try {
      const template = join(dir, 'template.yml');
      await writeFile(template, 'edgefc: 1\nservices:\n  S:\n    functions:\n      f:\n        runtime: nodejs20\n        handler: index.handler\n        codeUri: ./nowhere\n');
      const { code, stderr } = await runCli(['start', '--template', template, '--port', '0']);
      expect(code).toBe(1);
      expect(stderr).toContain('template.yml');
      expect(stderr).toContain('services.S.functions.f.codeUri');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('says the port is taken', async () => {
    const holder: ChildProcess = spawn(process.execPath, ['-e', 'require("net").createServer().listen(0,"127.0.0.1",function(){console.log(this.address().port)})']);
    try {
      const port = await new Promise<string>((resolve) => holder.stdout?.once('data', (d: Buffer) => resolve(d.toString().trim())));
      const { code, stderr } = await runCli(['start', '--port', port]);
      expect(code).toBe(1);
      expect(stderr).toMatch(/EADDRINUSE/);
    } finally {
      holder.kill('SIGKILL');
    }
  });
});
