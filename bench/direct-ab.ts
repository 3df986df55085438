/**
 * `node dist/bench/direct-ab.js [--rounds N] [--measure-ms MS] [--in-flight 1,64]`: issue 14's
 * moonshot, measured before it is built. What would a Sync call cost if the gateway left its
 * data path, a function instance taking its calls from the broker itself?
 *
 * Three paths, FCClient (or the raw client) → Mosquitto → … → back, interleaved per round:
 * - raw: the raw echo (workers/responder.ts), the floor every ratio is divided by;
 * - direct: a stand-in for such an instance (responder.ts `direct`): one process subscribed to
 *   the echo's invoke topics that decodes the envelope, runs functions/echo's handler and
 *   answers on the caller's reply topic: the protocol's work, no gateway, no process hop;
 * - gateway: today's default path, the gateway and the echo in its own process, on a Mosquitto
 *   of its own (a gateway serves every invoke topic of its broker).
 * All anonymous (the security cost is scenario 1's); the same Mosquitto build and settings.
 * Prints the medians of the per-round ratios over raw, and their spread. Results and what the
 * direct path would give up: BENCHMARKS.md, "Sync path, issue 14".
 */
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { createContext } from './lib/context.js';
import { Histogram } from './lib/histogram.js';
import { measure, type MeasuredRun, type Target } from './lib/measure.js';
import { startMosquitto } from './lib/mosquitto.js';
import { BENCH_SERVICE, ECHO_FUNCTION, echoFunction, writeTemplate } from './lib/templates.js';
import { PAYLOAD_BYTES } from './scenarios/latency.js';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '8' },
    'measure-ms': { type: 'string', default: '2000' },
    'warmup-ms': { type: 'string', default: '300' },
    'in-flight': { type: 'string', default: '1,64' },
  },
});
const rounds = Number(values.rounds);
const measureMs = Number(values['measure-ms']);
const warmupMs = Number(values['warmup-ms']);
const inFlights = values['in-flight'].split(',').map(Number);

const median = (xs: readonly number[]): number => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)] ?? Number.NaN;
const spread = (xs: readonly number[]): string => `${Math.min(...xs).toFixed(2)}–${Math.max(...xs).toFixed(2)}`;
const p = (run: MeasuredRun, q: 50 | 99): number => Histogram.fromJSON(run.result.latency).summary()[q === 50 ? 'p50Us' : 'p99Us'];
const rps = (run: MeasuredRun): number => (run.result.completed / run.result.windowMs) * 1000;
const cpu = (run: MeasuredRun): number => (run.cpu.gatewayUs + run.cpu.functionUs + run.cpu.responderUs + run.cpu.brokerUs) / Math.max(1, run.result.total);

const context = createContext({ quick: false, durations: { warmupMs, measureMs, rounds }, mosquitto: await startMosquitto(), resultsDir: '/tmp' });
const gatewayMosquitto = await startMosquitto();
try {
  const loadAtStart = loadavg()[0] ?? 0;
  const template = await writeTemplate([echoFunction(ECHO_FUNCTION)]);
  const gateway = await context.startGateway('gateway', { templatePath: template, brokerUrl: gatewayMosquitto.url });
  const url = context.mosquitto.url;
  const fc = { service: BENCH_SERVICE, fn: ECHO_FUNCTION, connections: 1 };
  const targets: Target[] = [
    { key: 'raw', label: 'raw echo', client: await context.startClient('client-raw', { protocol: 'raw', url, ...fc, clientIdPrefix: 'bench_raw_' }), responder: await context.startResponder(url, false), brokerPid: context.mosquitto.pid },
    {
      key: 'direct',
      label: 'direct (an instance on the broker)',
      client: await context.startClient('client-direct', { protocol: 'fc', url, ...fc, clientIdPrefix: 'bench_direct_' }),
      responder: await context.startResponder(url, false, undefined, { direct: true }),
      brokerPid: context.mosquitto.pid,
    },
    { key: 'gateway', label: 'gateway (default path)', client: await context.startClient('client-gateway', { protocol: 'fc', url: gatewayMosquitto.url, ...fc, clientIdPrefix: 'bench_gw_' }), gateway, brokerPid: gatewayMosquitto.pid },
  ];
  for (const target of targets) await target.client.once(30_000);
  context.progress(`${rounds} rounds of ${measureMs} ms; load ${loadAtStart.toFixed(2)}`);
  for (const inFlight of inFlights) {
    const runs = new Map(targets.map((target) => [target.key, [] as MeasuredRun[]]));
    for (let round = 0; round < rounds; round++) {
      const order = targets.map((_, index) => targets[(index + round) % targets.length] as Target);
      for (const target of order) {
        runs.get(target.key)?.push(await measure(target, { mode: 'closed', inFlight, rate: 0, warmupMs, durationMs: measureMs, payloadBytes: PAYLOAD_BYTES, timeoutMs: 30_000 }));
      }
      context.progress(`${inFlight} in flight: round ${round + 1}/${rounds} (load ${(loadavg()[0] ?? 0).toFixed(2)})`);
    }
    const raw = runs.get('raw') ?? [];
    console.log(`\n${inFlight} in flight, ${rounds} rounds (medians of per-round ratios over raw; spread):`);
    for (const target of targets) {
      const own = runs.get(target.key) ?? [];
      const ratio = (pick: (run: MeasuredRun) => number): number[] => own.map((run, index) => pick(run) / pick(raw[index] as MeasuredRun));
      const line = (name: string, xs: number[]): string => `${name} ${median(xs).toFixed(2)}× (${spread(xs)})`;
      console.log(
        `  ${target.label.padEnd(36)} p50 ${median(own.map((run) => p(run, 50)))} µs, p99 ${median(own.map((run) => p(run, 99)))} µs, ${Math.round(median(own.map(rps)))} req/s, server-side CPU ${median(own.map(cpu)).toFixed(1)} µs/call` +
          (target.key === 'raw' ? '' : `; ${line('p50', ratio((run) => p(run, 50)))}, ${line('p99', ratio((run) => p(run, 99)))}, ${line('req/s', ratio(rps))}`),
      );
    }
  }
  console.log(`\nload average: ${loadAtStart.toFixed(2)} at start, ${(loadavg()[0] ?? 0).toFixed(2)} at end`);
} finally {
  await context.closeAll();
  await gatewayMosquitto.close();
  await context.mosquitto.close();
}
