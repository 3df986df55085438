/**
 * `node dist/bench/sync-ab.js --a DIR [--b DIR] [--rounds N] [--measure-ms MS] [--in-flight 1,64]
 * [--paths embedded,mosquitto,embedded-inside,mosquitto-inside]`: an interleaved A/B of two
 * builds on the Sync path (issue 14), with authentication on as in scenarios 1-2.
 *
 * A and B are two checkouts, each built (`npm run build`): A is typically the commit before a
 * change (`git worktree add ../base HEAD~1`, node_modules copied), B this one (the default).
 * Each side gets its own secured Mosquitto and its own gateways (embedded broker, and on its
 * Mosquitto), started from that side's `dist/bench/workers/gateway.js`, so the gateway, its
 * function processes and its client (FCClient) are that build's. The raw echo through side A's
 * Mosquitto is the floor both are divided by.
 *
 * Every round measures raw, A and B for each path back to back, alternating A B / B A, and the
 * ratios are taken per round: the medians of the per-round ratios and their spread (min–max)
 * are what a claim may rest on, next to an A/A run (`--b` the same directory as `--a`) that
 * shows the comparison's own noise floor on the box at the time. CPU per call (gateway and
 * function processes) is printed too: on a loaded box it is steadier than latency.
 */
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createBenchLogins, type BenchLogins } from './lib/bench-logins.js';
import { createContext, type BenchContext, type BenchGateway } from './lib/context.js';
import { measure, type MeasuredRun, type Target } from './lib/measure.js';
import { startMosquitto } from './lib/mosquitto.js';
import { startSecuredMosquitto, type SecuredBenchMosquitto } from './lib/secured-mosquitto.js';
import { BENCH_SERVICE, ECHO_FUNCTION, IN_PROCESS_ECHO_FUNCTION, echoFunction, writeTemplate } from './lib/templates.js';
import { Histogram } from './lib/histogram.js';
import { median } from './lib/median.js';
import { PAYLOAD_BYTES } from './scenarios/latency.js';

const PATHS = ['embedded', 'mosquitto', 'embedded-inside', 'mosquitto-inside'] as const;
type PathName = (typeof PATHS)[number];

const { values } = parseArgs({
  options: {
    a: { type: 'string' },
    b: { type: 'string', default: '.' },
    rounds: { type: 'string', default: '8' },
    'measure-ms': { type: 'string', default: '2000' },
    'warmup-ms': { type: 'string', default: '300' },
    'in-flight': { type: 'string', default: '1,64' },
    paths: { type: 'string', default: 'embedded,mosquitto' },
  },
});
if (values.a === undefined) throw new Error('sync-ab: --a DIR (a built checkout) is required');
const sides = { A: resolve(values.a), B: resolve(values.b) };
const rounds = Number(values.rounds);
const measureMs = Number(values['measure-ms']);
const warmupMs = Number(values['warmup-ms']);
const inFlights = values['in-flight'].split(',').map(Number);
const paths = values.paths.split(',').map((name) => name.trim()) as PathName[];
for (const path of paths) if (!PATHS.includes(path)) throw new Error(`sync-ab: unknown path ${path} (${PATHS.join(', ')})`);

type Side = keyof typeof sides;
const sideNames: readonly Side[] = ['A', 'B'];

interface SideTopology {
  logins: BenchLogins;
  mosquitto: SecuredBenchMosquitto;
  gateways: { embedded: BenchGateway; mosquitto: BenchGateway };
  targets: Map<PathName, Target>;
}

const principal = (side: Side, path: string): string => `b-${side.toLowerCase()}-${path}`;

async function startSide(context: BenchContext, side: Side, template: string): Promise<SideTopology> {
  const workersDir = join(sides[side], 'dist', 'bench', 'workers');
  const logins = await createBenchLogins([...PATHS.map((path) => principal(side, path)), principal(side, 'raw'), principal(side, 'responder')]);
  const mosquitto = await startSecuredMosquitto(logins, template);
  const [onMosquitto, embedded] = await Promise.all([
    context.startGateway(`gateway-mosquitto-${side}`, { templatePath: template, brokerUrl: mosquitto.url, secured: { dataDir: mosquitto.dataDir, brokerLogin: mosquitto.gatewayLogin } }, { workersDir }),
    context.startGateway(`gateway-embedded-${side}`, { templatePath: template, secured: { dataDir: await logins.dataDir('gateway-embedded') } }, { workersDir }),
  ]);
  const targets = new Map<PathName, Target>();
  for (const path of paths) {
    const gateway = path.startsWith('embedded') ? embedded : onMosquitto;
    const fn = path.endsWith('-inside') ? IN_PROCESS_ECHO_FUNCTION : ECHO_FUNCTION;
    const login = logins.login(principal(side, path));
    const client = await context.startClient(`client-${side}-${path}`, { protocol: 'fc', url: gateway.url, service: BENCH_SERVICE, fn, connections: 1, clientIdPrefix: `${login.username}_`, login }, { workersDir });
    targets.set(path, { key: `${side}-${path}`, label: `${side} ${path}`, client, gateway, ...(gateway === onMosquitto ? { brokerPid: mosquitto.pid } : {}) });
  }
  return { logins, mosquitto, gateways: { embedded, mosquitto: onMosquitto }, targets };
}

const spread = (xs: readonly number[]): string => `${Math.min(...xs).toFixed(2)}–${Math.max(...xs).toFixed(2)}`;
const p = (run: MeasuredRun, q: number): number => Histogram.fromJSON(run.result.latency).summary()[q === 50 ? 'p50Us' : 'p99Us'];
const rps = (run: MeasuredRun): number => (run.result.completed / run.result.windowMs) * 1000;
const cpu = (run: MeasuredRun): number => (run.cpu.gatewayUs + run.cpu.functionUs) / Math.max(1, run.result.total);

async function main(): Promise<void> {
  const context = createContext({ quick: false, durations: { warmupMs, measureMs, rounds }, mosquitto: await startMosquitto(), resultsDir: '/tmp' });
  const loadAtStart = loadavg()[0] ?? 0;
  const template = await writeTemplate([echoFunction(ECHO_FUNCTION), echoFunction(IN_PROCESS_ECHO_FUNCTION, { isolation: 'none' })]);
  const topology = { A: await startSide(context, 'A', template), B: await startSide(context, 'B', template) };
  const rawLogins = topology.A.logins;
  const responder = await context.startResponder(topology.A.mosquitto.url, false, rawLogins.login(principal('A', 'responder')));
  const rawLogin = rawLogins.login(principal('A', 'raw'));
  const raw: Target = {
    key: 'raw',
    label: 'raw echo, Mosquitto',
    client: await context.startClient('client-raw', { protocol: 'raw', url: topology.A.mosquitto.url, service: BENCH_SERVICE, fn: ECHO_FUNCTION, connections: 1, clientIdPrefix: `${rawLogin.username}_`, login: rawLogin }),
    responder,
    brokerPid: topology.A.mosquitto.pid,
  };
  const all = [raw, ...sideNames.flatMap((side) => [...topology[side].targets.values()])];
  for (const target of all) await target.client.once(30_000);
  context.progress(`A = ${sides.A}, B = ${sides.B}; ${rounds} rounds of ${measureMs} ms; load ${loadAtStart.toFixed(2)}`);
  try {
    for (const inFlight of inFlights) {
      const perPath = new Map(paths.map((path) => [path, { a: [] as MeasuredRun[], b: [] as MeasuredRun[], raw: [] as MeasuredRun[] }]));
      for (let round = 0; round < rounds; round++) {
        for (const path of paths) {
          const runs = perPath.get(path);
          if (runs === undefined) continue;
          const a = topology.A.targets.get(path);
          const b = topology.B.targets.get(path);
          if (a === undefined || b === undefined) continue;
          const order: Target[] = round % 2 === 0 ? [raw, a, b] : [b, a, raw];
          for (const target of order) {
            const run = await measure(target, { mode: 'closed', inFlight, rate: 0, warmupMs, durationMs: measureMs, payloadBytes: PAYLOAD_BYTES, timeoutMs: 30_000 });
            (target === raw ? runs.raw : target === a ? runs.a : runs.b).push(run);
          }
        }
        context.progress(`${inFlight} in flight: round ${round + 1}/${rounds} done (load ${(loadavg()[0] ?? 0).toFixed(2)})`);
      }
      for (const path of paths) {
        const runs = perPath.get(path);
        if (runs === undefined) continue;
        const ratios = (pick: (run: MeasuredRun) => number, x: readonly MeasuredRun[], y: readonly MeasuredRun[]): number[] => x.map((run, index) => pick(run) / pick(y[index] as MeasuredRun));
        const line = (label: string, xs: number[]): string => `  ${label.padEnd(22)} median ${median(xs).toFixed(3)}  spread ${spread(xs)}`;
        console.log(`\n${path}, ${inFlight} in flight (${rounds} rounds):`);
        console.log(line('B/A p50', ratios((run) => p(run, 50), runs.b, runs.a)));
        console.log(line('B/A p99', ratios((run) => p(run, 99), runs.b, runs.a)));
        console.log(line('B/A req/s', ratios(rps, runs.b, runs.a)));
        console.log(line('B/A CPU/call (gw+fn)', ratios(cpu, runs.b, runs.a)));
        console.log(line('A/raw p50', ratios((run) => p(run, 50), runs.a, runs.raw)));
        console.log(line('B/raw p50', ratios((run) => p(run, 50), runs.b, runs.raw)));
        console.log(line('A/raw p99', ratios((run) => p(run, 99), runs.a, runs.raw)));
        console.log(line('B/raw p99', ratios((run) => p(run, 99), runs.b, runs.raw)));
        console.log(line('A/raw req/s', ratios(rps, runs.a, runs.raw)));
        console.log(line('B/raw req/s', ratios(rps, runs.b, runs.raw)));
        console.log(`  CPU µs/call gw+fn: A ${median(runs.a.map(cpu)).toFixed(1)}, B ${median(runs.b.map(cpu)).toFixed(1)}; p50 µs: raw ${median(runs.raw.map((run) => p(run, 50)))}, A ${median(runs.a.map((run) => p(run, 50)))}, B ${median(runs.b.map((run) => p(run, 50)))}`);
      }
    }
    console.log(`\nload average: ${loadAtStart.toFixed(2)} at start, ${(loadavg()[0] ?? 0).toFixed(2)} at end`);
  } finally {
    await context.closeAll();
    for (const side of sideNames) {
      await topology[side].mosquitto.close();
      await topology[side].logins.close();
    }
    await context.mosquitto.close();
  }
}

await main();
