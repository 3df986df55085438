/**
 * The template's fields, defaults and ranges in one place. functions/README.md documents the
 * same numbers; test/registry/template-docs.test.ts keeps the two in step.
 */
import type { IntegerRule } from './template-fields.js';

/** `edgefc: 1` at the top of the file. Bumped only when a field changes meaning. */
export const TEMPLATE_VERSION = 1;

export const ROOT_FIELDS = ['edgefc', 'region', 'accountId', 'credentials', 'services'] as const;
export const CREDENTIAL_FIELDS = ['accessKeyId', 'accessKeySecret', 'securityToken'] as const;
export const SERVICE_FIELDS = ['description', 'logProject', 'logStore', 'functions'] as const;
export const FUNCTION_FIELDS = [
  'runtime',
  'handler',
  'codeUri',
  'memorySize',
  'timeout',
  'initializer',
  'initializationTimeout',
  'instanceConcurrency',
  'maxInstances',
  'minInstances',
  'maxQueueLength',
  'environmentVariables',
  'isolation',
  'description',
  'customRuntimeConfig',
  'instanceLifecycleConfig',
  'asyncConfiguration',
  'triggers',
  'invokers',
] as const;

/** `customRuntimeConfig` of a `runtime: custom` function (FC's field; webServerMode from FC's customContainerConfig). */
export const CUSTOM_RUNTIME_FIELDS = ['command', 'args', 'webServerMode', 'port'] as const;
/**
 * `customRuntimeConfig.port`: FC's field for the port a custom runtime's server listens on (FC's
 * CAPort; FC's default 9000). Without it edgefc gives every instance a free port of its own in
 * FC_SERVER_PORT; with it every instance listens on this port, each in its own network namespace
 * where the gateway can make one (gateway/runtime/custom/fixed-port.ts, docs/runtime-custom.md §3.2).
 */
export const CUSTOM_PORT = { min: 1, max: 65535 } as const satisfies IntegerRule;
/**
 * `instanceLifecycleConfig`: FC also has preFreeze, which means nothing where instances are
 * never frozen. `idleTimeout` is ours: FC decides alone when an idle instance goes.
 */
export const LIFECYCLE_FIELDS = ['preStop', 'idleTimeout'] as const;
/**
 * Seconds an instance may sit without a call before it is stopped. 300 s: a function called
 * every few minutes stays warm (a 20-150 ms cold start saved per call: BENCHMARKS.md scenario 4), one called
 * hourly gives its memory back; at most 24 h.
 */
export const IDLE_TIMEOUT = { min: 1, max: 86400, default: 300, unit: 'seconds' } as const satisfies IntegerRule;
export const LIFECYCLE_HOOK_FIELDS = ['handler', 'timeout'] as const;
/** Seconds a preStop hook may run: FC's range. */
export const PRE_STOP_TIMEOUT = { min: 1, max: 90, default: 3, unit: 'seconds' } as const satisfies IntegerRule;
/** FC's default command of a custom runtime: an executable file of this name in codeUri. */
export const DEFAULT_BOOTSTRAP = 'bootstrap';

/** What `context.region` / `context.accountId` say when the template is silent. */
export const DEFAULT_REGION = 'local';
export const DEFAULT_ACCOUNT_ID = 'local';

/**
 * Environment variables that override the template's credentials, one per field, so secrets
 * need not be written into a file that is checked in. Set and non-empty wins.
 */
export const CREDENTIAL_ENV = {
  accessKeyId: 'EDGEFC_ACCESS_KEY_ID',
  accessKeySecret: 'EDGEFC_ACCESS_KEY_SECRET',
  securityToken: 'EDGEFC_SECURITY_TOKEN',
} as const satisfies Record<(typeof CREDENTIAL_FIELDS)[number], string>;

/** Every service reports this qualifier: an edge gateway runs one version of each function. */
export const SERVICE_QUALIFIER = 'LATEST';
/** FC reports no version ID for LATEST. */
export const SERVICE_VERSION_ID = '';

/** Integer function fields. Ranges follow FC's where FC has one (memory, timeouts, concurrency). */
export const FUNCTION_LIMITS = {
  /** MB. FC's range; the runtime may use it to cap the instance's heap. */
  memorySize: { min: 64, max: 16384, default: 128, unit: 'MB' },
  /** Seconds. 86400 = 24 h, FC's longest run (and MAX_TIMEOUT_MS in src/protocol/limits.ts). */
  timeout: { min: 1, max: 86400, default: 3, unit: 'seconds' },
  /** Seconds. FC caps initializers at 300 s. */
  initializationTimeout: { min: 1, max: 300, default: 3, unit: 'seconds' },
  /** Calls one instance runs at once; FC's limit is 100 (1 = FC's classic one-call-per-instance). */
  instanceConcurrency: { min: 1, max: 100, default: 1 },
  /** Instances at once. 64: an edge box rarely has the memory for more Node processes. */
  maxInstances: { min: 1, max: 64, default: 2 },
  /**
   * Provisioned instances: started at deploy and kept warm through idle reaping. FC 3.0's name
   * (ScalingConfig.minInstances), the pair of `maxInstances` beside it; FC's older
   * provisionConfig.target/defaultTarget is a separate API resource, not a function field.
   * At most maxInstances (checked in check-template.ts).
   */
  minInstances: { min: 0, max: 64, default: 0 },
  /** Waiting calls past which the gateway answers ResourceThrottled; 0 = never queue. */
  maxQueueLength: { min: 0, max: 100_000, default: 100 },
} as const satisfies Record<string, IntegerRule>;

/** POSIX-portable environment variable names. */
export const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** `asyncConfiguration`: FC's names, plus `maxAsyncQueueLength` (FC's queue is unbounded; ours is on a disk). */
export const ASYNC_CONFIG_FIELDS = ['maxAsyncRetryAttempts', 'maxAsyncEventAgeInSeconds', 'maxAsyncQueueLength', 'destinationConfig'] as const;
export const DESTINATION_CONFIG_FIELDS = ['onSuccess', 'onFailure'] as const;
export const DESTINATION_FIELDS = ['destination'] as const;
export const TRIGGER_FIELDS = ['name', 'type', 'topic'] as const;

/**
 * Integer fields of `asyncConfiguration`. Ranges follow FC 3.0's PutAsyncInvokeConfig: retries
 * 0–8 (default 3), event age 1–604,800 s (7 days; default 86,400). A call may then wait a week:
 * the store keeps unfinished calls whatever their age, and finished records 7 days
 * (async-service.ts DEFAULT_RETENTION).
 */
export const ASYNC_LIMITS = {
  maxAsyncRetryAttempts: { min: 0, max: 8, default: 3 },
  maxAsyncEventAgeInSeconds: { min: 1, max: 604_800, default: 86_400, unit: 'seconds' },
  /** 10,000 calls of up to 128 KiB: at most ~1.3 GB of disk per function in the worst case. */
  maxAsyncQueueLength: { min: 0, max: 1_000_000, default: 10_000 },
} as const satisfies Record<string, IntegerRule>;

/** Triggers one function may declare. */
export const MAX_TRIGGERS = 16;
