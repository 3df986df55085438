/**
 * A Sync caller in a process of its own (bench/async-intake-pair.ts `--sync-probe`): calls
 * `Bench/echo` one at a time until SIGTERM and prints "ready", then each call's milliseconds, a
 * line each. Its own process, so the Async flood's client does not slow it.
 *
 *   PROBE_PASSWORD=… node dist/bench/lib/sync-probe.js SDK_INDEX_JS BROKER_URL USERNAME
 */
import { performance } from 'node:perf_hooks';
import type { FCClient } from 'edgefc';

const [sdk, brokerUrl, username] = process.argv.slice(2);
if (sdk === undefined || brokerUrl === undefined || username === undefined) throw new Error('usage: sync-probe.js SDK_INDEX_JS BROKER_URL USERNAME');
const { FCClient: Client } = (await import(sdk)) as { FCClient: typeof FCClient };
const client = new Client({ brokerUrl, timeout: 60_000, username, password: process.env['PROBE_PASSWORD'] ?? '' });
const call = { serviceName: 'Bench', functionName: 'echo', payload: 'x' };
await client.invokeFunction(call);
process.stdout.write('ready\n');
let running = true;
process.once('SIGTERM', () => {
  running = false;
});
while (running) {
  const started = performance.now();
  await client.invokeFunction(call);
  process.stdout.write(`${(performance.now() - started).toFixed(3)}\n`);
}
await client.close();
