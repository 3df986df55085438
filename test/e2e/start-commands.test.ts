/**
 * The README's main command and the external-broker mode, as processes: `npm start -- --port P`
 * (embedded broker) and `edgefc gateway --broker <Mosquitto>`.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { freeLoopbackPort } from '../../gateway/runtime/process/loopback-port.js';
import { startMosquitto, type RunningBroker, type MosquittoTestBroker } from '../fixtures/brokers.js';
import { SAMPLE_TEMPLATE } from '../../gateway/package-root.js';
import { runCli, startCliProcess, stopProcess, type CliProcess } from '../fixtures/cli-process.js';

describe('starting the gateway', () => {
  let proc: CliProcess | undefined;
  let mosquitto: RunningBroker<MosquittoTestBroker> | undefined;

  afterEach(async () => {
    const stopped = proc;
    await stopProcess(stopped);
    proc = undefined;
    await mosquitto?.close();
    mosquitto = undefined;
    // SIGTERM is a clean stop: the gateway drains and says so (npm itself re-raises the signal).
    expect(stopped?.output()).toMatch(/INFO gateway stopped/);
  });

  it('npm start -- --port P serves the samples on the embedded broker and shows a first invocation', async () => {
    const port = await freeLoopbackPort();
    proc = startCliProcess(['start', '--', '--port', String(port)], ['npm', '--silent']);
    await proc.waitForOutput(/first invocation: EdgeFC\/helloworld -> "Hello/, 60_000);
    expect(proc.output()).toContain(`ready on mqtt://127.0.0.1:${port} (embedded broker)`);
    const { code, stdout } = await runCli(['invoke', 'EdgeFC/helloworld', '--broker', `mqtt://127.0.0.1:${port}`]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/Hello/);
  });

  // Without authentication on either side: the secure Mosquitto setup has its own suite (test/security/).
  it('edgefc gateway --broker URL --insecure runs against an external Mosquitto', async () => {
    mosquitto = await startMosquitto();
    proc = startCliProcess(['gateway', '--template', SAMPLE_TEMPLATE, '--demo', '--broker', mosquitto.url, '--insecure']);
    await proc.waitForOutput(/first invocation: EdgeFC\/helloworld -> "Hello/);
    expect(proc.output()).toContain('(external broker)');
    expect(proc.output()).toContain('mqtt=5'); // Mosquitto speaks MQTT 5: plain requests work too
    const invoker = await runCli(['invoke', 'EdgeFC/invoker', '--broker', mosquitto.url]);
    expect(invoker.code).toBe(0);
    expect(JSON.parse(invoker.stdout)).toMatchObject({ from: 'EdgeFC/helloworld' });
    const list = await runCli(['list', '--broker', mosquitto.url]);
    expect(list.stdout).toMatch(/^EdgeFC\s+invoker/m);
  });
});
