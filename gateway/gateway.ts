/**
 * The gateway process's core: registry + function host + broker link, and the embedded broker
 * when no external one is given. `Gateway.start()` is what `edgefc start` runs.
 */
import { hostname } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { AsyncService, type RecordRetention } from './async/async-service.js';
import type { AsyncQueue } from './async/async-queue.js';
import type { JetStreamQueue } from './async/jetstream/jetstream-queue.js';
import { AsyncStore, type StoreSync } from './async/async-store.js';
import { startEmbeddedBroker, type BrokerTlsOptions, type EmbeddedBroker } from './broker/embedded-broker.js';
import type { AccessControl } from './security/access-control.js';
import { openAccess, securedRuntime } from './security/gateway-security.js';
import { createAuditLog } from './security/audit-log.js';
import { CallPolicy } from './security/call-policy.js';
import { watchAccessFile, type AccessFileWatch } from './security/access-file-watch.js';
import { assertTrustedTemplate } from './security/trusted-templates.js';
import { redactUrl } from 'edgefc/mqtt';
import type { Runtime } from './runtime/types.js';
import { Containment } from './containment/containment.js';
import { placeFixedPorts } from './runtime/custom/fixed-port.js';
import { checkProvisionedMemory, MemoryBudget } from './runtime/memory-budget.js';
import type { FunctionUserSetting } from './containment/function-user.js';
import { logBrokerEvent } from './broker/broker-log.js';
import { ClientLimits, type ClientLimitOptions } from './dispatch/client-limits.js';
import { dispatchMessage } from './dispatch/dispatch-message.js';
import { SyncReplayCache } from './dispatch/sync-replay.js';
import type { DispatchContext } from './dispatch/dispatch-context.js';
import { defaultDataDir } from './data-dir.js';
import { FunctionHost, type FunctionStats } from './function-host.js';
import { createStreamLogger, type Logger } from './logging/logger.js';
import { FunctionLogs, type FunctionLogOptions } from './logging/function-logs.js';
import { Deployer, triggerFilters, type DeployResult } from './registry/deployer.js';
import { DeploymentStore } from './deployments/deployment-store.js';
import { Deployments, LOCAL_PRINCIPAL, type DeploymentResult } from './deployments/deployments.js';
import { DEFAULT_MAX_BUNDLE_BYTES } from './deployments/pack-bundle.js';
import { UploadSessions } from './deployments/upload-sessions.js';
import { InvalidArgumentError, ServiceUnavailableError } from 'edgefc/errors';
import { loadTemplate } from './registry/load-template.js';
import { Registry } from './registry/registry.js';
import { Versions } from './versions/versions.js';
import { VersionStore } from './versions/version-store.js';
import type { Template } from './registry/types.js';
import { RuntimeRegistry } from './runtime/runtime-registry.js';
import { GatewayLink } from './transport/gateway-link.js';
import type { GatewayTransport, MessageHandler } from './transport/gateway-transport.js';
import { InProcessLink } from './transport/in-process-link.js';
import type { NatsLink, NatsTlsFiles } from './transport/nats-link.js';
import { SingleBoxStatus, type ClusterStatusSource } from './cluster/cluster-status.js';
import { gatewayIdentity, GatewayMode } from './cluster/gateway-announcement.js';
import { GatewayLoadSampler } from './cluster/gateway-load.js';
import { gatewayIdIn } from './gateway-id.js';
import { GatewayMetrics } from './metrics/gateway-metrics.js';
import { startMetricsServer, type MetricsServer, type Readiness } from './metrics/metrics-server.js';
import { ensureMetricsToken } from './metrics/metrics-token.js';
import type { CallTracer } from './tracing/call-tracer.js';
import { loadCallTracer } from './tracing/load-call-tracer.js';
import type { TraceExportConfig } from './tracing/trace-export-config.js';
import type { ClusterState } from './cluster/cluster-state.js';
import type { ClusterDeployments } from './cluster/cluster-deployments.js';
import { assertNatsTemplate } from './cluster/nats-template-names.js';

export interface GatewayOptions {
  /**
   * Path of the services/functions template (YAML). Kept as a new deployment unless one with
   * the same content is kept already, in which case the current deployment serves; absent, the
   * current deployment serves, or nothing (docs/lifecycle.md "Deployments").
   */
  templatePath?: string;
  /**
   * Largest deploy bundle the gateway takes (docs/protocol.md §9.9).
   * @default 67_108_864 (64 MiB)
   */
  maxBundleBytes?: number;
  /**
   * MB every function instance counts its memorySize against; the template's provisioned
   * instances must fit in it (runtime/memory-budget.ts, docs/operations.md).
   * @default 75 % of the box's memory
   */
  memoryBudgetMB?: number;
  /**
   * Deployments kept in the data directory: the newest N, and always the current one, the one
   * before it and what those build on (docs/lifecycle.md "Deployments").
   * @default 10
   */
  keepDeployments?: number;
  /**
   * External broker to use, e.g. Mosquitto. When absent, the gateway starts its embedded broker.
   * @example 'mqtt://127.0.0.1:1883'
   */
  brokerUrl?: string;
  /**
   * Embedded broker's listen address. Like Mosquitto 2, it listens on loopback unless told
   * otherwise: pass '0.0.0.0' to serve devices on the network.
   * @default '127.0.0.1'
   */
  host?: string;
  /** Embedded broker's port; 0 picks a free one. @default 1883 */
  port?: number;
  /**
   * Serve from a NATS cluster instead of an MQTT broker (docs/cluster.md): connect natively to
   * these servers and take requests in the gateways' queue group, so several gateways share the
   * calls. Devices connect to nats-server's MQTT listener; `brokerUrl`, when given, is that
   * listener's URL, which the gateway's functions use. `username`/`password` are the NATS login.
   * @example { servers: ['nats://10.0.0.1:4222', 'nats://10.0.0.2:4222'], tls: { caFile: '/etc/edgefc/nats-ca.pem' } }
   */
  nats?: {
    servers: readonly string[];
    tls?: NatsTlsFiles;
    /**
     * Replicas of the cluster's state: the deployment buckets (gateway/cluster/cluster-buckets.ts),
     * the Async stream and its record bucket (docs/cluster.md "Async calls").
     * @default 3 when the server is in a cluster, else 1
     */
    replicas?: number;
    /**
     * How long a call delivered to a gateway that died waits before another gateway runs it.
     * @default 30_000
     */
    asyncAckWaitMs?: number;
    /**
     * How often this gateway looks for accepted Async calls the stream lost (docs/cluster.md).
     * @default 120_000
     */
    asyncLostCallCheckMs?: number;
  };
  /** The gateway's own login to an external broker (or to NATS with `nats`). */
  username?: string;
  password?: string;
  /**
   * No authentication and no authorization: anyone who reaches the broker may call any function,
   * read everyone's replies and use every admin operation. For a closed lab network only; the
   * gateway says so at start (docs/security.md §6).
   * @default false
   */
  insecure?: boolean;
  /**
   * The access file: principals, roles, password hashes (gateway/security/access-file.ts).
   * @default '<dataDir>/access.yml'
   */
  accessFile?: string;
  /**
   * Make (or renew) the local operator credential `<dataDir>/operator.credentials` at start, so
   * the CLI on this box finds it (docs/security.md §2.2). Embedded broker only.
   * @default true
   */
  localOperator?: boolean;
  /** The embedded broker serves MQTT over TLS (mqtts) with these PEM files' contents. */
  tls?: BrokerTlsOptions;
  /**
   * Directories `deploy` may load templates from (docs/protocol.md §9.7).
   * @default the directory of `templatePath`
   */
  trustedTemplateDirs?: readonly string[];
  /** @default a logger writing to stderr */
  logger?: Logger;
  /** @default 5000 */
  connectTimeoutMs?: number;
  /**
   * Where the gateway keeps its durable state (the Async store, docs/protocol.md §10.1). Created
   * if missing; a directory that cannot be used stops the start with an error, never a silent
   * in-memory fallback.
   * @default process.env.EDGEFC_DATA_DIR ?? './.edgefc'
   * @example '/var/lib/edgefc'
   */
  dataDir?: string;
  /**
   * How hard the store syncs (gateway/async/async-store.ts): `full` survives power loss,
   * `normal` survives a killed process, `off` is for benchmarks.
   * @default 'full'
   */
  storeSync?: StoreSync;
  /** Delay before the first retry of a failed Async call; doubles per attempt. @default 1000 */
  asyncRetryBaseDelayMs?: number;
  /** How long and how many finished Async records are kept. @default 7 days, 100,000 records */
  recordRetention?: Partial<RecordRetention>;
  /** How long a finished Sync call's outcome answers a retry with its request ID (§10.2). @default 300_000 */
  syncReplayWindowMs?: number;
  /**
   * Functions' log files, `<dataDir>/logs/<Service>/<function>.log` (docs/logs.md): size of a
   * file before rotation, files kept, output one call may write.
   * @default { maxFileBytes: 10 MiB, maxFiles: 5, maxInvocationBytes: 1 MiB }
   */
  logs?: Omit<FunctionLogOptions, 'dir'>;
  /**
   * Which users functions run as (gateway/containment/, docs/runtime-node.md §10). `auto`: a
   * root gateway gives each function its own uid from 2000000000-2000065535 and stages its code
   * where only it can read it; a gateway that is not root runs them as itself (warned at start).
   * @default 'auto'
   * @example { uidRange: { first: 3_000_000, last: 3_009_999 } }
   */
  functionUser?: FunctionUserSetting;
  /**
   * Per-client limits on invocations (docs/protocol.md §7.5): calls in flight and calls per
   * second per client ID, past which a call is refused with `ResourceThrottled`.
   * @default { maxInFlight: 1000, callsPerSecond: 40_000, burst: 80_000, maxIdleClients: 10_000 }
   * @example { maxInFlight: 32, callsPerSecond: 50, burst: 200 } // many small devices
   */
  clientLimits?: ClientLimitOptions;
  /**
   * Embedded broker: the largest MQTT packet a client may send, fixed header included; a
   * client that announces a larger one is disconnected before it is read (§7.6).
   * @default 7_340_032 (7 MiB)
   */
  maxPacketBytes?: number;
  /**
   * Serve /healthz, /readyz and Prometheus /metrics over HTTP here (gateway/metrics/,
   * docs/security.md §9); /metrics wants the bearer token in `<dataDir>/metrics.token`.
   * `optional`: a port already taken is warned about and the gateway starts without it (the
   * CLI's default address); otherwise it stops the start.
   * @default no endpoint (the CLI's default is 127.0.0.1:9464)
   * @example { host: '127.0.0.1', port: 9464 }
   */
  metrics?: { host: string; port: number; optional?: boolean };
  /**
   * Export a span per call to this OTLP/HTTP endpoint (gateway/tracing/, docs/operations.md §4);
   * `resolveTraceExport` reads it from `--otlp-endpoint` and the OTEL_* environment variables.
   * @default no export, and no OpenTelemetry module loaded
   */
  traceExport?: TraceExportConfig;
}

export { DATA_DIR_ENV, defaultDataDir } from './data-dir.js';

export class Gateway {
  readonly registry: Registry;
  /** The URL devices and functions use to reach this gateway's broker. */
  readonly brokerUrl: string;
  readonly embedded: boolean;
  readonly #host: FunctionHost;
  readonly #async: AsyncQueue;
  readonly #link: GatewayTransport;
  readonly #broker: EmbeddedBroker | undefined;
  readonly #logger: Logger;
  readonly #logs: FunctionLogs;
  readonly #deployments: Deployments;
  readonly #accessWatch: AccessFileWatch | undefined;
  /** NATS mode: the cluster's deployments (gateway/cluster/), and the --template SIGHUP deploys to it. */
  readonly #cluster: { state: ClusterState; templatePath: string | undefined } | undefined;
  /** Prometheus metrics of this gateway (gateway/metrics/gateway-metrics.ts); none without an endpoint. */
  readonly metrics: GatewayMetrics | undefined;
  readonly #tracer: CallTracer | undefined;
  readonly #clusterStatus: ClusterStatusSource;
  #metricsServer: MetricsServer | undefined;
  #stopping: Promise<void> | undefined;

  private constructor(parts: {
    registry: Registry;
    brokerUrl: string;
    host: FunctionHost;
    async: AsyncQueue;
    link: GatewayTransport;
    broker: EmbeddedBroker | undefined;
    logger: Logger;
    logs: FunctionLogs;
    deployments: Deployments;
    accessWatch: AccessFileWatch | undefined;
    metrics: GatewayMetrics | undefined;
    tracer: CallTracer | undefined;
    cluster: { state: ClusterState; templatePath: string | undefined } | undefined;
    clusterStatus: ClusterStatusSource;
  }) {
    this.#cluster = parts.cluster;
    this.#clusterStatus = parts.clusterStatus;
    this.metrics = parts.metrics;
    this.#tracer = parts.tracer;
    this.registry = parts.registry;
    this.brokerUrl = parts.brokerUrl;
    this.embedded = parts.broker !== undefined;
    this.#host = parts.host;
    this.#async = parts.async;
    this.#link = parts.link;
    this.#broker = parts.broker;
    this.#logger = parts.logger;
    this.#logs = parts.logs;
    this.#deployments = parts.deployments;
    this.#accessWatch = parts.accessWatch;
  }

  static async start(options: GatewayOptions): Promise<Gateway> {
    const logger = options.logger ?? createStreamLogger();
    // Loaded only with an endpoint: otherwise no OpenTelemetry module is imported at all.
    const tracer = options.traceExport === undefined ? undefined : await loadCallTracer(options.traceExport, logger);
    // A bad template fails before anything listens (file, field and why: registry/load-template).
    const startTemplate = options.templatePath === undefined ? undefined : await loadTemplate(options.templatePath);
    // NATS mode: topics NATS cannot carry (§2.7) stop the start before anything connects.
    if (options.nats !== undefined && startTemplate !== undefined && options.templatePath !== undefined) assertNatsTemplate(startTemplate, options.templatePath);
    const dataDir = options.dataDir ?? defaultDataDir();
    // The data directory locked down before anything is written to it, and each function given
    // its user and staged code before anything runs (containment/containment.ts).
    const containment = Containment.open({ dataDir, logger, ...(options.functionUser === undefined ? {} : { setting: options.functionUser }) });
    const maxBundleBytes = options.maxBundleBytes ?? DEFAULT_MAX_BUNDLE_BYTES;
    const deploymentStore = DeploymentStore.open(dataDir);
    // NATS mode: the cluster's deployment serves, fetched before this gateway joins the queue
    // group; --template only seeds an empty cluster (cluster/cluster-deployments.ts, docs/cluster.md).
    const cluster = options.nats === undefined ? undefined : await openClusterState(options, logger, dataDir, maxBundleBytes);
    let template: Template;
    try {
      template = cluster === undefined ? await Deployments.atStart(deploymentStore, options.templatePath, logger, maxBundleBytes) : await cluster.atStart(deploymentStore, options.templatePath);
    } catch (error) {
      await cluster?.close();
      throw error;
    }
    // Fixed-port custom servers (customRuntimeConfig.port): one instance each, and no two on one port, where instances cannot have network namespaces of their own.
    const budget = new MemoryBudget(options.memoryBudgetMB);
    // Provisioned instances (minInstances) that do not fit in the memory budget stop the start here, as they stop a deploy.
    const registry = new Registry(checkProvisionedMemory(placeFixedPorts(await containment.place(template), logger), budget.totalMB));
    // Before any broker or process: a data directory that cannot hold calls stops the start here.
    // NATS mode keeps Async calls in the cluster (JetStream), not in a file of this box.
    const store = options.nats === undefined ? AsyncStore.open({ dir: dataDir, sync: options.storeSync ?? 'full' }) : undefined;

    const accessFile = options.accessFile ?? join(dataDir, 'access.yml');
    let access: AccessControl | undefined;
    let broker: EmbeddedBroker | undefined;
    let runtime: Runtime;
    try {
      // NATS mode: the access file is the cluster's (cluster/cluster-access.ts, docs/security.md §11).
      if (cluster !== undefined && options.insecure !== true) await cluster.shareAccess(accessFile);
      const opened = await openAccess({ insecure: options.insecure ?? false, accessFile, logger });
      access = opened.access;
      broker =
        options.brokerUrl === undefined && options.nats === undefined
          ? await startEmbeddedBroker({
              host: options.host ?? '127.0.0.1',
              port: options.port ?? 1883,
              ...(opened.auth === undefined ? {} : { auth: opened.auth }),
              log: logBrokerEvent(logger),
              ...(options.maxPacketBytes === undefined ? {} : { maxPacketBytes: options.maxPacketBytes }),
              ...(options.tls === undefined ? {} : { tls: options.tls }),
            })
          : undefined;
      runtime = await securedRuntime(new RuntimeRegistry(), {
        access,
        brokerUrl: broker?.url ?? options.brokerUrl ?? '',
        embedded: broker !== undefined,
        dataDir,
        accessFile,
        localOperator: options.localOperator ?? true,
        logger,
      });
    } catch (error) {
      await broker?.close();
      await store?.close();
      await cluster?.close();
      throw error;
    }
    const brokerUrl = broker?.url ?? options.brokerUrl ?? '';
    const logs = new FunctionLogs({
      ...options.logs,
      dir: join(dataDir, 'logs'),
      echo: (line, record) => logger.functionLine(line, record),
      onFileError: (file, error) => logger.warn('cannot write a function log file', { file, error: String(error) }),
    });
    const embeddedBroker = broker;
    const startedAt = Date.now();
    const identity = gatewayIdentity(store?.gatewayId ?? gatewayIdIn(dataDir), options.nats === undefined ? GatewayMode.single : GatewayMode.nats, startedAt);
    // Without an endpoint nothing is counted: the call path stays as it was (--metrics off).
    const metrics: GatewayMetrics | undefined =
      options.metrics === undefined
        ? undefined
        : new GatewayMetrics({
            functions: (): FunctionStats[] => host.stats(),
            asyncUnfinished: () => asyncQueue.unfinished(),
            identity,
            ...(embeddedBroker === undefined ? {} : { brokerConnections: () => embeddedBroker.stats().connectedClients }),
            ...(tracer === undefined ? {} : { traceSpans: () => tracer.stats() }),
          });
    const host: FunctionHost = new FunctionHost({
      registry,
      runtime: metrics?.countColdStarts(runtime) ?? runtime,
      brokerUrl,
      logger,
      logs,
      budget,
      ...(metrics === undefined ? {} : { metrics }),
      ...(tracer === undefined ? {} : { tracer }),
    });
    // Every template that will serve (a deploy's, a version's) is placed the same way: staged
    // code, fixed ports, and its provisioned instances checked against the memory budget.
    const place = async (next: Template): Promise<Template> => checkProvisionedMemory(placeFixedPorts(await containment.place(next), logger), budget.totalMB);
    // §3.2a: published versions serve their frozen functions from the deployments they name.
    // NATS mode: kept in the cluster's bucket and followed, each version's deployment fetched
    // when this gateway has no copy, before it joins the queue group (cluster/cluster-versions.ts).
    const versions = await Versions.open({ ...(cluster === undefined ? { store: new VersionStore(dataDir) } : cluster.versionsOn(deploymentStore)), deployments: deploymentStore, registry, logger, place });
    // Staged code no function serves, of LATEST or of a version, is removed once placed.
    await containment.collect([...registry.functions(), ...versions.functions()]);
    // `link` exists before anyone can deploy (the deployer is reached through it).
    const deployer = new Deployer({
      registry,
      host,
      logger,
      setTriggerFilters: async (filters) => link?.setTriggerFilters(filters),
      place,
      // A version's functions keep their staged code as long as the version is kept.
      collect: (served) => containment.collect([...served, ...versions.functions()]),
    });
    const asyncCommon = { registry, versions, host, logger, backoff: { baseMs: options.asyncRetryBaseDelayMs ?? 1000 }, ...(metrics === undefined ? {} : { metrics }) };
    // Loaded only in NATS mode, as nats.js is: JetStream and KV cost nothing to a single box.
    const clusterQueue: JetStreamQueue | undefined =
      options.nats === undefined
        ? undefined
        : new (await import('./async/jetstream/jetstream-queue.js')).JetStreamQueue({
            ...asyncCommon,
            settings: {
              ...(options.nats.replicas === undefined ? {} : { replicas: options.nats.replicas }),
              ...(options.nats.asyncAckWaitMs === undefined ? {} : { ackWaitMs: options.nats.asyncAckWaitMs }),
              ...(options.nats.asyncLostCallCheckMs === undefined ? {} : { lostCallCheckMs: options.nats.asyncLostCallCheckMs }),
              ...(options.recordRetention?.maxAgeMs === undefined ? {} : { recordTtlMs: options.recordRetention.maxAgeMs }),
            },
          });
    const asyncQueue: AsyncQueue =
      clusterQueue ??
      new AsyncService({
        ...asyncCommon,
        // Defined whenever there is no cluster queue (above).
        store: store as AsyncStore,
        ...(options.recordRetention === undefined ? {} : { retention: options.recordRetention }),
      });
    const syncReplay = new SyncReplayCache(options.syncReplayWindowMs === undefined ? {} : { windowMs: options.syncReplayWindowMs });
    const clientLimits = new ClientLimits(options.clientLimits);
    const policy = access === undefined ? undefined : new CallPolicy(access);
    const audit = createAuditLog(join(dataDir, 'audit.log'), {
      onError: (error) => logger.warn('cannot write the audit log', { error: String(error) }),
    });
    const trustedDirs = options.trustedTemplateDirs ?? (options.templatePath === undefined ? [] : [dirname(resolve(options.templatePath))]);
    const deployments = new Deployments({ store: deploymentStore, deployer, registry, logger, maxBundleBytes, ...(options.keepDeployments === undefined ? {} : { keepDeployments: options.keepDeployments }) });
    deployments.pinned = () => versions.pinnedDeployments();
    deployments.prune();
    registry.explainMissing = (service, fn) => deployments.removedBy(service, fn);
    const uploads = new UploadSessions({ maxBundleBytes });
    const deploy = async (file: string | undefined, principal: string): Promise<DeployResult> =>
      file === undefined ? deployments.reload(servedTemplate(registry)) : deployments.deployPath(await assertTrustedTemplate(file, trustedDirs), principal);
    // NATS mode: deploys go to the cluster and are applied here by following it (cluster/cluster-deployments.ts).
    const clusterDeployments: ClusterDeployments | undefined = cluster?.deploymentsOn(deployments);
    const clusterDeploy = async (file: string | undefined, principal: string): Promise<DeployResult> =>
      clusterDeploymentsOf(clusterDeployments).deployPath(await assertTrustedTemplate(file ?? nameTheTemplate(options.templatePath), trustedDirs), principal);
    let link: GatewayTransport | undefined;
    let natsLink: NatsLink | undefined;
    // §9.16; set once the link is open (in NATS mode it rides on the link's connection).
    const clusterRef: { source?: ClusterStatusSource } = {};
    const clusterStatus = (): ReturnType<ClusterStatusSource['status']> =>
      clusterRef.source === undefined ? Promise.reject(new ServiceUnavailableError('the gateway is still starting (§9.16)')) : clusterRef.source.status();
    let context: DispatchContext | undefined;
    const onMessage: MessageHandler = (message, sink) => {
      context ??= {
        registry,
        // NATS mode: the cluster's versions, which every gateway follows (cluster/cluster-versions.ts).
        versions,
        host,
        async: asyncQueue,
        syncReplay,
        clientLimits,
        sink,
        logger,
        now: Date.now,
        startedAt,
        // NATS mode: deployments and uploads live in the cluster's buckets, so whichever gateway
        // of the queue group takes a deploy, every gateway serves it (docs/cluster.md).
        ...(cluster === undefined || clusterDeployments === undefined
          ? { deploy, deployments, uploads }
          : { deploy: clusterDeploy, deployments: clusterDeployments, uploads: cluster.uploads }),
        audit: audit.sink,
        logs,
        ...(metrics === undefined ? {} : { metrics }),
        ...(tracer === undefined ? {} : { tracer }),
        ...(policy === undefined ? {} : { policy }),
        clusterStatus,
      };
      try {
        return dispatchMessage(context, message);
      } catch (error) {
        // Handlers answer every failure they expect; reaching here is a bug. One message is
        // lost, the gateway and every other call go on.
        logger.error('unexpected failure dispatching a message', {
          topic: message.topic.slice(0, 200),
          error: error instanceof Error ? (error.stack ?? error.message) : String(error),
        });
        return undefined;
      }
    };
    const triggers = triggerFilters(registry.functions());
    try {
      // The embedded broker is in this process: take its messages directly, no TCP hop (in-process-link.ts).
      link =
        broker !== undefined
          ? InProcessLink.open({ broker, logger, triggerFilters: triggers, onMessage })
          : options.nats !== undefined
            ? // Loaded only in NATS mode: nats.js costs ~12 MB of RSS (bench scenario 5's idle gateway).
              (natsLink = await (await import('./transport/nats-link.js')).NatsLink.open({
                servers: options.nats.servers,
                // Which box and process, in the servers' connection lists (nats-server /connz).
                name: `edgefc-gateway/${hostname()}/${process.pid}`,
                triggerFilters: triggers,
                ...(options.nats.tls === undefined ? {} : { tls: options.nats.tls }),
                ...(options.username === undefined ? {} : { username: options.username }),
                ...(options.password === undefined ? {} : { password: options.password }),
                connectTimeoutMs: options.connectTimeoutMs ?? 5000,
                logger,
                onMessage,
              }))
            : await GatewayLink.open({
              brokerUrl,
              // Stable per data directory, with a persistent session: QoS 1 messages the gateway had
              // not acknowledged when it stopped are delivered again when it is back (§10.1).
              clientId: `edgefc-gateway-${store?.gatewayId ?? hostname()}`,
              persistentSession: true,
              triggerFilters: triggers,
              ...(options.username === undefined ? {} : { username: options.username }),
              ...(options.password === undefined ? {} : { password: options.password }),
              protocolVersion: 5,
              connectTimeoutMs: options.connectTimeoutMs ?? 5000,
              logger,
              onMessage,
            });
      // The cluster's stream, consumer and record bucket, on the gateway's own connection; until
      // then an Async call is answered ServiceUnavailable (the device retries, §10.2).
      if (clusterQueue !== undefined && natsLink !== undefined) await clusterQueue.connect(natsLink.connection);
    } catch (error) {
      await link?.close();
      await host.close();
      await logs.close();
      await asyncQueue.close();
      await tracer?.shutdown();
      await broker?.close();
      await cluster?.close();
      throw error;
    }
    // NATS mode: follow the cluster's deployment from here on (a change may move trigger subscriptions, so after the link).
    clusterDeployments?.watch();
    cluster?.followAccess();
    versions.follow();
    asyncQueue.start((topic, payload) => link.publishConfirmed(topic, payload));
    const sampler = new GatewayLoadSampler({ functions: () => host.stats() });
    // NATS mode: every gateway announces itself to the others (cluster/heartbeat.ts); loaded with nats.js's JetStream module only then.
    const clusterStatusSource: ClusterStatusSource =
      natsLink === undefined
        ? new SingleBoxStatus(identity, sampler)
        : new (await import('./cluster/nats-cluster-status.js')).NatsClusterStatus({ nc: natsLink.connection, identity, sampler, logger });
    clusterRef.source = clusterStatusSource;
    // Roles and groups as `edgefc users` leaves them, for every call: behind an external broker
    // the gateway sees no CONNECT that would make it read the file again.
    const accessWatch =
      access === undefined ? undefined : watchAccessFile(access, (error) => logger.warn('cannot read the access file again; the previous one stays in force', { error: String(error) }));
    const gateway = new Gateway({
      registry,
      brokerUrl,
      host,
      async: asyncQueue,
      link,
      broker,
      logger,
      logs,
      deployments,
      accessWatch,
      metrics,
      tracer,
      cluster: cluster === undefined ? undefined : { state: cluster, templatePath: options.templatePath },
      clusterStatus: clusterStatusSource,
    });
    if (options.metrics !== undefined && metrics !== undefined) {
      const transport = link;
      await gateway.#serveMetrics(metrics, options.metrics, dataDir, () => ({
        broker: transport.connected,
        store: asyncQueue.isOpen,
        template: registry.functions().length > 0,
      }));
    }
    logger.info('gateway ready', {
      broker: redactUrl(brokerUrl),
      ...(options.nats === undefined ? {} : { nats: options.nats.servers.map(redactUrl).join(',') }),
      embedded: broker !== undefined,
      authentication: access === undefined ? 'off' : 'on',
      mqtt: link.protocolVersion === 5 ? '5' : '3.1.1',
      functions: registry.functions().length,
      data: dataDir,
    });
    return gateway;
  }

  /**
   * Serve a new template (default: the current file, re-read) without a restart: new calls go
   * to the new functions, calls in flight finish on the old instances, which then stop. A bad
   * template is refused with the same TemplateError as at start; the old one keeps serving.
   * `edgefc deploy` and SIGHUP to `edgefc start` call this.
   */
  redeploy(templatePath?: string): Promise<DeploymentResult> {
    // NATS mode: to the cluster, which every gateway follows (docs/cluster.md).
    const cluster = this.#cluster;
    if (cluster !== undefined) {
      return Promise.resolve().then(() => clusterDeploymentsOf(cluster.state.deployments).deployPath(templatePath ?? nameTheTemplate(cluster.templatePath), LOCAL_PRINCIPAL));
    }
    return templatePath === undefined ? this.#deployments.reload(servedTemplate(this.registry)) : this.#deployments.deployPath(templatePath, LOCAL_PRINCIPAL);
  }

  /** Deployments kept in the data directory (docs/lifecycle.md "Deployments"). */
  get deployments(): Deployments {
    return this.#deployments;
  }

  async #serveMetrics(metrics: GatewayMetrics, address: NonNullable<GatewayOptions['metrics']>, dataDir: string, readiness: () => Readiness): Promise<void> {
    try {
      this.#metricsServer = await startMetricsServer({ ...address, token: await ensureMetricsToken(dataDir), registry: metrics.registry, readiness });
      this.#logger.info('metrics endpoint ready', { url: `${this.#metricsServer.url}/metrics`, token: join(dataDir, 'metrics.token') });
    } catch (error) {
      if (address.optional === true && (error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
        this.#logger.warn('metrics endpoint not started: its address is in use (--metrics HOST:PORT picks another, --metrics off none)', { host: address.host, port: address.port });
        return;
      }
      await this.stop();
      throw error;
    }
  }

  /** Where /metrics, /readyz and /healthz are served, when they are. */
  get metricsUrl(): string | undefined {
    return this.#metricsServer?.url;
  }

  /** Functions' output: files and call tails (docs/logs.md). */
  get logs(): FunctionLogs {
    return this.#logs;
  }

  stats(): ReturnType<FunctionHost['stats']> {
    return this.#host.stats();
  }

  /** Stop taking calls, let running ones finish (bounded), stop every instance and the broker. */
  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<void> {
    this.#logger.info('gateway stopping');
    this.#accessWatch?.close();
    // NATS: the others forget this gateway now (its last announcement), not after the TTL.
    await this.#clusterStatus.close().catch((error: unknown) => this.#logger.warn('cannot leave the cluster heartbeat', { error: String(error) }));
    // NATS: out of the queue group first, so new calls go to the other gateways, not to refusals.
    await this.#link.stopTaking?.().catch((error: unknown) => this.#logger.warn('cannot leave the NATS queue group', { error: String(error) }));
    // NATS: stop following the cluster's deployments and access file before the host closes (no deploy applied while it drains).
    await this.#cluster?.state.close();
    await this.#metricsServer?.close();
    // Stop starting Async calls (new ones are refused: ServiceUnavailable), let the host drain
    // those running, write their outcomes, then close the store.
    this.#async.stopDispatch();
    await this.#host.close();
    // After the host: the last lines of the last calls are written before the files close.
    await this.#logs.close();
    await this.#async.close();
    // Every call has ended, and its span with it: export what is queued (bounded by the export timeout).
    await this.#tracer?.shutdown();
    await this.#link.close();
    await this.#broker?.close();
    this.#logger.info('gateway stopped');
  }
}

/** The template file now served, to read again (SIGHUP, `deploy` without a template). */
function servedTemplate(registry: Registry): string {
  if (registry.templatePath === '') throw new InvalidArgumentError('this gateway serves no deployment yet: deploy a template first (edgefc deploy --template F)');
  return registry.templatePath;
}

/** NATS mode: the cluster's state, on a connection of its own (loaded only in NATS mode, as nats.js is). */
async function openClusterState(options: GatewayOptions, logger: Logger, dataDir: string, maxBundleBytes: number): Promise<ClusterState> {
  const nats = options.nats;
  if (nats === undefined) throw new InvalidArgumentError('no NATS servers');
  const { ClusterState: State } = await import('./cluster/cluster-state.js');
  return State.open({
    servers: nats.servers,
    name: `edgefc-gateway/${hostname()}/${process.pid}`,
    connectTimeoutMs: options.connectTimeoutMs ?? 5000,
    logger,
    dataDir,
    maxBundleBytes,
    ...(nats.tls === undefined ? {} : { tls: nats.tls }),
    ...(nats.replicas === undefined ? {} : { replicas: nats.replicas }),
    ...(options.username === undefined ? {} : { username: options.username }),
    ...(options.password === undefined ? {} : { password: options.password }),
    ...(options.keepDeployments === undefined ? {} : { keepDeployments: options.keepDeployments }),
  });
}

function clusterDeploymentsOf(deployments: ClusterDeployments | undefined): ClusterDeployments {
  if (deployments === undefined) throw new InvalidArgumentError('this gateway does not follow a cluster');
  return deployments;
}

/** NATS mode, `deploy` without a template and SIGHUP: the gateway's --template, deployed to the cluster. */
function nameTheTemplate(templatePath: string | undefined): string {
  if (templatePath === undefined) throw new InvalidArgumentError('in NATS mode name the template to deploy to the cluster (edgefc deploy --template F, or --on-gateway F)');
  return templatePath;
}
