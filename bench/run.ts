/**
 * `npm run bench [-- --quick] [-- --only latency,footprint,cold,async,otel,cluster] [-- --profile]`
 *
 * Starts everything itself: a Mosquitto on a free port, a gateway on it and an embedded-broker
 * gateway (each in its own process), the raw echo responders (the baseline, over the same
 * brokers), and clients as separate processes. Prints a table (ratios first, absolutes second),
 * writes bench/results/latest.json, progress on stderr.
 *
 * --quick: a ~80 s smoke check with short runs, which also holds the standing rules
 * "sequential Sync p50 through the embedded gateway < 1 ms" and "the default path's p50 ≤ 3× the
 * raw echo" (median of interleaved pairs, lib/paired-ratio.ts) and exits 1 when one breaks.
 * --profile: the gateways and the clients under --cpu-prof at 64 calls in flight
 *   (--profile-in-flight N), driving the fc-embedded and fc-mosquitto targets (--targets to
 *   choose); prints the hot spots of each busy process, named by its role.
 */
import { loadavg } from 'node:os';
import { mkdtemp, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { PACKAGE_ROOT } from '../gateway/package-root.js';
import { createContext, ensureDir, type BenchContext, type BenchRow, type Durations } from './lib/context.js';
import { machineInfo } from './lib/machine.js';
import { pairedP50Ratio } from './lib/paired-ratio.js';
import type { Target } from './lib/measure.js';
import { createBenchLogins } from './lib/bench-logins.js';
import { makeTestPki } from './lib/throwaway-pki.js';
import { startMosquitto } from './lib/mosquitto.js';
import { startSecuredMosquitto } from './lib/secured-mosquitto.js';
import { renderProfile, summarizeProfileFile, type ProfileSummary } from './lib/profile-summary.js';
import { renderMachine, renderTable } from './lib/report.js';
import { BENCH_SERVICE, ECHO_FUNCTION, IN_PROCESS_ECHO_FUNCTION, echoFunction, writeTemplate } from './lib/templates.js';
import { runAsyncIntake } from './scenarios/async-intake.js';
import { runColdStart } from './scenarios/cold-start.js';
import { runFootprint } from './scenarios/footprint.js';
import { PAYLOAD_BYTES, runLatencyScenarios } from './scenarios/latency.js';
import { runTraceExport } from './scenarios/trace-export.js';
import { runCluster } from './scenarios/cluster.js';

/** The standing rule the quick bench holds (issue 5 / foundation): sequential Sync p50, embedded. */
const QUICK_RULE_P50_US = 1_000;
/**
 * The second standing rule (issue 14): the default path's sequential p50 (a function in its own
 * process, embedded broker, logins on) over the raw echo through Mosquitto. The goal is 1.5×;
 * the rule is the regression line the quick bench holds until the goal is met (2.3× measured
 * when it was set).
 */
const QUICK_RULE_DEFAULT_PATH_RATIO = 3;
/** The second rule's ratio is the median of this many back-to-back pairs (lib/paired-ratio.ts). */
const RULE_PAIRS = 7;

const SCENARIOS = ['latency', 'footprint', 'cold', 'async', 'otel', 'cluster'] as const;
/** Minutes of nats-server cluster and gateway restarts: only in a full run, or by `--only cluster`. */
const NOT_QUICK: readonly ScenarioName[] = ['cluster'];
type ScenarioName = (typeof SCENARIOS)[number];

interface Topology {
  targets: Target[];
  stop(): Promise<void>;
}

/** Target keys of scenarios 1-2; every one but the `-open` ones logs in (bench-logins.ts). */
const SECURED_KEYS = [
  'raw-mosquitto',
  'fc-mosquitto',
  'raw-embedded',
  'fc-embedded',
  'fc-mosquitto-inside',
  'fc-embedded-inside',
  'mqtt5-raw',
  'mqtt5-gateway',
  'raw-embedded-tls',
  'fc-embedded-tls',
  'raw-mosquitto-qos0',
  'raw-embedded-qos0',
] as const;
const RESPONDER_MOSQUITTO = 'b-responder-mosquitto';
const RESPONDER_EMBEDDED = 'b-responder-embedded';
const RESPONDER_EMBEDDED_TLS = 'b-responder-embedded-tls';
/** A target's principal: `b-<key>`, so its client IDs are `b-<key>_0`… (security.md §2.1). */
const principalOf = (key: string): string => `b-${key}`;

/**
 * The gateways, brokers and responders of scenarios 1-2, with authentication on as a user would
 * deploy them: an embedded-broker gateway with an access file, and a gateway on a Mosquitto
 * configured by `edgefc broker-config mosquitto`. Beside them, to price security side by side in
 * the same rounds, an `--insecure` embedded gateway and a gateway on the anonymous Mosquitto.
 */
async function startTopology(context: BenchContext, options: { execArgv?: string[] } = {}): Promise<Topology> {
  // The in-process echo (isolation: none) is served by gateways of its own: a gateway that runs
  // a function inside it keeps AsyncLocalStorage's promise hooks on (in-process-scope.ts), which
  // cost every call of that gateway 11-17 µs (sync-ab, 2026-12-06), and a user whose functions
  // all run in their own processes does not pay that.
  const template = await writeTemplate([echoFunction(ECHO_FUNCTION)]);
  const insideTemplate = await writeTemplate([echoFunction(IN_PROCESS_ECHO_FUNCTION, { isolation: 'none' })]);
  context.progress('starting gateways (Mosquitto, embedded; with logins and open; isolation: none on their own) and raw echo responders');
  const workerOptions = options.execArgv === undefined ? {} : { execArgv: options.execArgv };
  const logins = await createBenchLogins([...SECURED_KEYS.map(principalOf), RESPONDER_MOSQUITTO, RESPONDER_EMBEDDED, RESPONDER_EMBEDDED_TLS]);
  // TLS (issue 14: "TLS measured as its own row"): an embedded-broker gateway serving mqtts with
  // a throwaway CA's certificate, the raw echo through that same aedes over TLS as its floor.
  const pki = await makeTestPki(await mkdtemp(join(logins.dir, 'pki-')));
  const ca = pki.ca.toString();
  // A gateway serves every request topic of its broker (protocol.md §2.1): the isolation: none
  // gateway on Mosquitto has a Mosquitto of its own, configured alike.
  const [securedMosquitto, insideMosquitto] = await Promise.all([startSecuredMosquitto(logins, template), startSecuredMosquitto(logins, insideTemplate, 'mosquitto-inside')]);
  const embeddedDataDir = await logins.dataDir('gateway-embedded');
  const embeddedInsideDataDir = await logins.dataDir('gateway-embedded-inside');
  const embeddedTlsDataDir = await logins.dataDir('gateway-embedded-tls');
  const mosquittoSecured = (broker: typeof securedMosquitto) => ({ dataDir: broker.dataDir, brokerLogin: broker.gatewayLogin });
  const [onMosquitto, embedded, onOpenMosquitto, embeddedOpen, insideOnMosquitto, embeddedInside, embeddedTls] = await Promise.all([
    context.startGateway('gateway-mosquitto', { templatePath: template, brokerUrl: securedMosquitto.url, secured: mosquittoSecured(securedMosquitto) }, workerOptions),
    context.startGateway('gateway-embedded', { templatePath: template, secured: { dataDir: embeddedDataDir } }, workerOptions),
    context.startGateway('gateway-mosquitto-open', { templatePath: template, brokerUrl: context.mosquitto.url }, workerOptions),
    context.startGateway('gateway-embedded-open', { templatePath: template }, workerOptions),
    context.startGateway('gateway-mosquitto-inside', { templatePath: insideTemplate, brokerUrl: insideMosquitto.url, secured: mosquittoSecured(insideMosquitto) }, workerOptions),
    context.startGateway('gateway-embedded-inside', { templatePath: insideTemplate, secured: { dataDir: embeddedInsideDataDir } }, workerOptions),
    context.startGateway('gateway-embedded-tls', { templatePath: template, secured: { dataDir: embeddedTlsDataDir }, tls: { cert: pki.server.cert.toString(), key: pki.server.key.toString() } }, workerOptions),
  ]);
  const [responderMosquitto, responderEmbedded, responderOpen, responderTls] = await Promise.all([
    context.startResponder(securedMosquitto.url, true, logins.login(RESPONDER_MOSQUITTO)),
    context.startResponder(embedded.url, false, logins.login(RESPONDER_EMBEDDED)),
    context.startResponder(context.mosquitto.url, false),
    context.startResponder(embeddedTls.url, false, logins.login(RESPONDER_EMBEDDED_TLS), { ca }),
  ]);
  type Protocol = 'fc' | 'raw' | 'mqtt5-gateway' | 'mqtt5-raw';
  const client = (key: string, protocol: Protocol, url: string, fn = ECHO_FUNCTION, tlsCa?: string, rawQos?: 0 | 1) => {
    const secured = !key.endsWith('-open');
    const login = secured ? logins.login(principalOf(key)) : undefined;
    const clientIdPrefix = login === undefined ? `bench_${key.replace(/-/g, '_')}_` : `${login.username}_`;
    return context.startClient(
      `client-${key}`,
      { protocol, url, service: BENCH_SERVICE, fn, connections: 1, clientIdPrefix, ...(login === undefined ? {} : { login }), ...(tlsCa === undefined ? {} : { ca: tlsCa }), ...(rawQos === undefined ? {} : { rawQos }) },
      workerOptions,
    );
  };
  const mosquittoUrl = securedMosquitto.url;
  const brokerPid = securedMosquitto.pid;
  const openBrokerPid = context.mosquitto.pid;
  const targets: Target[] = [
    { key: 'raw-mosquitto', label: 'raw echo, Mosquitto', client: await client('raw-mosquitto', 'raw', mosquittoUrl), responder: responderMosquitto, brokerPid },
    { key: 'fc-mosquitto', label: 'gateway (FCClient), Mosquitto', client: await client('fc-mosquitto', 'fc', mosquittoUrl), gateway: onMosquitto, brokerPid },
    { key: 'raw-embedded', label: 'raw echo, embedded aedes (in the gateway process)', client: await client('raw-embedded', 'raw', embedded.url), responder: responderEmbedded },
    // The raw echo at QoS 0 both ways: the QoS FCClient's Sync requests and the gateway's replies use (protocol.md §1.2).
    { key: 'raw-mosquitto-qos0', label: 'raw echo at QoS 0, Mosquitto', client: await client('raw-mosquitto-qos0', 'raw', mosquittoUrl, ECHO_FUNCTION, undefined, 0), responder: responderMosquitto, brokerPid },
    { key: 'raw-embedded-qos0', label: 'raw echo at QoS 0, embedded aedes (in the gateway process)', client: await client('raw-embedded-qos0', 'raw', embedded.url, ECHO_FUNCTION, undefined, 0), responder: responderEmbedded },
    { key: 'fc-embedded', label: 'gateway (FCClient), embedded broker', client: await client('fc-embedded', 'fc', embedded.url), gateway: embedded },
    { key: 'fc-mosquitto-inside', label: 'gateway (FCClient), Mosquitto, isolation: none', client: await client('fc-mosquitto-inside', 'fc', insideMosquitto.url, IN_PROCESS_ECHO_FUNCTION), gateway: insideOnMosquitto, brokerPid: insideMosquitto.pid },
    { key: 'fc-embedded-inside', label: 'gateway (FCClient), embedded broker, isolation: none', client: await client('fc-embedded-inside', 'fc', embeddedInside.url, IN_PROCESS_ECHO_FUNCTION), gateway: embeddedInside },
    { key: 'mqtt5-raw', label: 'raw MQTT 5 request/response, Mosquitto', client: await client('mqtt5-raw', 'mqtt5-raw', mosquittoUrl), responder: responderMosquitto, brokerPid },
    { key: 'mqtt5-gateway', label: 'gateway, MQTT 5 plain request, Mosquitto', client: await client('mqtt5-gateway', 'mqtt5-gateway', mosquittoUrl), gateway: onMosquitto, brokerPid },
    { key: 'raw-mosquitto-open', label: 'raw echo, anonymous Mosquitto', client: await client('raw-mosquitto-open', 'raw', context.mosquitto.url), responder: responderOpen, brokerPid: openBrokerPid },
    { key: 'fc-mosquitto-open', label: 'gateway (FCClient), anonymous Mosquitto', client: await client('fc-mosquitto-open', 'fc', context.mosquitto.url), gateway: onOpenMosquitto, brokerPid: openBrokerPid },
    { key: 'fc-embedded-open', label: 'gateway (FCClient), embedded broker, --insecure', client: await client('fc-embedded-open', 'fc', embeddedOpen.url), gateway: embeddedOpen },
    { key: 'raw-embedded-tls', label: 'raw echo over TLS, embedded aedes (in the gateway process)', client: await client('raw-embedded-tls', 'raw', embeddedTls.url, ECHO_FUNCTION, ca), responder: responderTls },
    { key: 'fc-embedded-tls', label: 'gateway (FCClient) over TLS, embedded broker', client: await client('fc-embedded-tls', 'fc', embeddedTls.url, ECHO_FUNCTION, ca), gateway: embeddedTls },
  ];
  // One call each: instance starts belong to scenario 4, not to anybody's warm-up.
  for (const target of targets) await target.client.once(30_000);
  return {
    targets,
    stop: async () => {
      await Promise.all(targets.map((target) => target.client.stop()));
      await Promise.all([responderMosquitto.stop(), responderEmbedded.stop(), responderOpen.stop(), responderTls.stop()]);
      await Promise.all([onMosquitto.stop(), embedded.stop(), onOpenMosquitto.stop(), embeddedOpen.stop(), insideOnMosquitto.stop(), embeddedInside.stop(), embeddedTls.stop()]);
      await Promise.all([securedMosquitto.close(), insideMosquitto.close()]);
      await logins.close();
    },
  };
}

async function runProfile(context: BenchContext, seconds: number, inFlight: number, keys: readonly string[]): Promise<Record<string, ProfileSummary>> {
  const dir = await ensureDir(join(context.resultsDir, 'profiles', new Date().toISOString().replace(/[:.]/g, '-')));
  const topology = await startTopology(context, { execArgv: ['--cpu-prof', '--cpu-prof-dir', dir] });
  for (const key of keys) {
    const target = topology.targets.find((candidate) => candidate.key === key);
    if (target === undefined) continue;
    context.progress(`profiling: ${target.label}, ${inFlight} in flight for ${seconds} s`);
    const result = await target.client.run({ mode: 'closed', inFlight, rate: 0, warmupMs: 1_000, durationMs: seconds * 1000, payloadBytes: PAYLOAD_BYTES, timeoutMs: 30_000 });
    context.progress(`  ${Math.round((result.completed / result.windowMs) * 1000)} req/s under the profiler`);
  }
  // Who is who: profiles are named CPU.<date>.<pid>.…; the gateways and the clients of the
  // profiled targets are reported, the idle clients of the others are not.
  const roles = new Map<number, string>();
  // A gateway is named after the first target it serves (targets' labels say broker and isolation).
  for (const { gateway, label } of topology.targets) {
    if (gateway !== undefined && !roles.has(gateway.pid)) roles.set(gateway.pid, `gateway of ${label.replace(/^gateway \(FCClient\), /, '')}`);
  }
  for (const key of keys) {
    const target = topology.targets.find((candidate) => candidate.key === key);
    if (target !== undefined) roles.set(target.client.pid, `client of ${key}`);
  }
  await topology.stop();
  const summaries: Record<string, ProfileSummary> = {};
  for (const file of (await readdir(dir)).filter((name) => name.endsWith('.cpuprofile'))) {
    const role = roles.get(Number(/^CPU\.\d+\.\d+\.(\d+)\./.exec(file)?.[1]));
    if (role === undefined) continue;
    const summary = await summarizeProfileFile(join(dir, file), 30);
    // A process writes one profile per thread; the writer and log threads' are near idle.
    if (summary.busyMs < summary.totalMs * 0.02) continue;
    summaries[`${role}: ${file}`] = summary;
    process.stdout.write(`\n## ${role}: ${join(dir, file)}\n${renderProfile(summary)}\n`);
  }
  return summaries;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      only: { type: 'string' },
      profile: { type: 'boolean', default: false },
      'profile-seconds': { type: 'string', default: '10' },
      'profile-in-flight': { type: 'string', default: '64' },
      out: { type: 'string' },
      /** Overrides, for before/after comparisons of one change. */
      rounds: { type: 'string' },
      'measure-ms': { type: 'string' },
      /**
       * Comma-separated target keys for scenarios 1-2 (raw-mosquitto, fc-mosquitto, raw-embedded,
       * fc-embedded, fc-mosquitto-inside, fc-embedded-inside, mqtt5-raw, mqtt5-gateway, and the
       * unauthenticated raw-mosquitto-open, fc-mosquitto-open, fc-embedded-open).
       */
      targets: { type: 'string' },
    },
  });
  const quick = values.quick;
  const only = values.only === undefined ? SCENARIOS.filter((name) => !quick || !NOT_QUICK.includes(name)) : (values.only.split(',').map((name) => name.trim()) as ScenarioName[]);
  for (const name of only) {
    if (!SCENARIOS.includes(name)) throw new Error(`--only: unknown scenario "${name}" (known: ${SCENARIOS.join(', ')})`);
  }
  const durations: Durations = quick ? { warmupMs: 400, measureMs: 800, rounds: 1 } : { warmupMs: 1_000, measureMs: 5_000, rounds: 3 };
  if (values.rounds !== undefined) durations.rounds = Number(values.rounds);
  if (values['measure-ms'] !== undefined) durations.measureMs = Number(values['measure-ms']);
  const targetKeys = values.targets?.split(',').map((key) => key.trim());
  const resultsDir = await ensureDir(join(PACKAGE_ROOT, 'bench', 'results'));
  const machine = machineInfo();
  const startedAt = performance.now();
  const mosquitto = await startMosquitto();
  const context = createContext({ quick, durations, mosquitto, resultsDir });
  context.progress(`${quick ? 'quick' : 'full'} run on ${machine.cpuModel} × ${machine.cpuCount}, Node ${machine.node}, ${machine.mosquitto}; load average ${machine.loadAverageAtStart}`);

  const rows: BenchRow[] = [];
  let exitCode = 0;
  let quickRule: { p50Us: number; limitUs: number; met: boolean } | undefined;
  let ratioRule: { ratio: number; pairs: number[]; limit: number; met: boolean } | undefined;
  try {
    if (values.profile) {
      const profiles = await runProfile(context, Number(values['profile-seconds']), Number(values['profile-in-flight']), targetKeys ?? ['fc-embedded', 'fc-mosquitto']);
      await writeFile(join(resultsDir, 'profile-summary.json'), `${JSON.stringify({ machine, profiles }, null, 2)}\n`);
      return 0;
    }
    if (only.includes('latency') || only.includes('footprint')) {
      const topology = await startTopology(context);
      try {
        if (only.includes('latency')) {
          const targets = topology.targets.filter((target) => targetKeys?.includes(target.key) ?? true);
          const outcome = await runLatencyScenarios(context, targets);
          rows.push(...outcome.rows);
          const p50Us = outcome.p50UsByTarget['fc-embedded'];
          if (p50Us !== undefined) quickRule = { p50Us, limitUs: QUICK_RULE_P50_US, met: p50Us < QUICK_RULE_P50_US };
          const raw = targets.find((target) => target.key === 'raw-mosquitto');
          const defaultPath = targets.find((target) => target.key === 'fc-embedded');
          if (raw !== undefined && defaultPath !== undefined) {
            context.progress(`standing rule: default path vs raw echo, ${RULE_PAIRS} interleaved pairs`);
            const paired = await pairedP50Ratio(raw, defaultPath, { pairs: RULE_PAIRS, warmupMs: 200, measureMs: 500, payloadBytes: PAYLOAD_BYTES });
            ratioRule = { ratio: paired.median, pairs: paired.ratios, limit: QUICK_RULE_DEFAULT_PATH_RATIO, met: paired.median <= QUICK_RULE_DEFAULT_PATH_RATIO };
          }
        }
        if (only.includes('footprint')) {
          rows.push(...(await runFootprint(context, topology.targets.find((target) => target.key === 'raw-mosquitto'))));
        }
      } finally {
        await topology.stop();
      }
    }
    if (only.includes('async')) rows.push(...(await runAsyncIntake(context)));
    if (only.includes('cold')) rows.push(...(await runColdStart(context)));
    if (only.includes('otel')) rows.push(...(await runTraceExport(context)));
    if (only.includes('cluster')) rows.push(...(await runCluster(context)));
  } finally {
    await context.closeAll();
    await mosquitto.close();
  }

  machine.loadAverageAtEnd = Math.round((loadavg()[0] ?? 0) * 100) / 100;
  const elapsedS = Math.round((performance.now() - startedAt) / 100) / 10;
  const table = renderTable(rows);
  process.stdout.write(`\n# edgefc benchmarks (${quick ? 'quick' : 'full'} run, ${elapsedS} s)\n\n${renderMachine(machine)}\n${table}\n`);
  if (quickRule !== undefined) {
    const verdict = quickRule.met ? 'holds' : 'BROKEN';
    process.stdout.write(`\nstanding rule: sequential Sync p50 through the embedded gateway ${quickRule.p50Us} µs < ${quickRule.limitUs} µs: ${verdict}\n`);
    if (!quickRule.met) exitCode = 1;
  }
  if (ratioRule !== undefined) {
    const verdict = ratioRule.met ? 'holds' : 'BROKEN';
    process.stdout.write(
      `standing rule: default path p50 (embedded broker, logins on) ${ratioRule.ratio}× the raw echo ≤ ${ratioRule.limit}× (goal 1.5×; median of ${ratioRule.pairs.length} pairs: ${ratioRule.pairs.join(', ')}): ${verdict}\n`,
    );
    if (!ratioRule.met) exitCode = 1;
  }
  const out = values.out ?? join(resultsDir, 'latest.json');
  await writeFile(
    out,
    `${JSON.stringify({ mode: quick ? 'quick' : 'full', elapsedS, durations, machine, quickRule, ratioRule, rows }, null, 2)}\n`,
  );
  process.stderr.write(`results: ${out}\n`);
  return exitCode;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  },
);
