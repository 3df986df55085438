/**
 * What the registry holds once a template is loaded and checked (gateway/registry/load-template.ts).
 * Field names follow Function Compute's template where FC has one; units are converted once,
 * here, so nothing downstream guesses: sizes in MB, times in milliseconds.
 */

export const RuntimeName = {
  nodejs20: 'nodejs20',
  nodejs18: 'nodejs18',
  /** FC's custom runtime: a command that serves HTTP (or, non-web mode, runs once per event). */
  custom: 'custom',
  /** FC's Go runtime: an executable that talks to the runtime API (fc-runtime-go-sdk). */
  go1: 'go1',
} as const;
export type RuntimeName = (typeof RuntimeName)[keyof typeof RuntimeName];

/**
 * Where a Node.js function's handler runs (template field `isolation`).
 * - `process` (the default): a child process per instance, contained (docs/runtime-node.md §1);
 * - `none`: inside the gateway process, for trusted code that needs the shortest path: no
 *   process hop per call, but no memory cap, no way to stop a runaway handler, and a shared
 *   `process.env` (docs/runtime-node.md §9).
 */
export const Isolation = {
  process: 'process',
  none: 'none',
} as const;
export type Isolation = (typeof Isolation)[keyof typeof Isolation];

export interface ServiceSpec {
  name: string;
  description: string;
  logProject: string;
  logStore: string;
  /** FC's service version the context reports; edge deployments have one: 'LATEST'. */
  qualifier: string;
  versionId: string;
}

export interface FunctionSpec {
  serviceName: string;
  name: string;
  description: string;
  runtime: RuntimeName;
  /** `file.export`, e.g. `index.handler` loads `index.js` (or .mjs/.cjs) and calls `handler`. */
  handler: string;
  /** Absolute path of the function's code directory. */
  codeDir: string;
  memorySizeMB: number;
  timeoutMs: number;
  initializer: string | undefined;
  initializationTimeoutMs: number;
  /** Calls one instance runs at once (FC: instanceConcurrency). */
  instanceConcurrency: number;
  /** Instances the gateway may run for this function at once. */
  maxInstances: number;
  /**
   * Provisioned instances (FC 3.0's minInstances): started at deploy, never reaped for idleness,
   * replaced when they die; at most maxInstances. Absent: 0, every instance on demand.
   */
  minInstances?: number;
  /** Calls that may wait for a free instance; past it, ResourceThrottled at once. */
  maxQueueLength: number;
  environmentVariables: Readonly<Record<string, string>>;
  /** Node.js runtimes only; absent means `process`. */
  isolation?: Isolation;
  /** `runtime: custom` only: what to start. Absent means `<codeDir>/bootstrap`, web server mode. */
  customRuntimeConfig?: CustomRuntimeSpec;
  /** Lifecycle hook run before an instance is stopped (custom web mode, go1). */
  preStop?: LifecycleHookSpec;
  /**
   * An instance with no call for this long is stopped (instanceLifecycleConfig.idleTimeout).
   * Absent: gateway/runtime/function-pool.ts DEFAULT_IDLE_TIMEOUT_MS (300 s).
   */
  idleTimeoutMs?: number;
  /** FC's asyncConfiguration, checked; absent: the defaults (gateway/async/async-config.ts). */
  asyncConfiguration?: AsyncConfigSpec;
  /** MQTT topic filters whose messages become Async calls of this function (docs/protocol.md §11). */
  triggers?: readonly TriggerSpec[];
  /**
   * Who may invoke it (docs/security.md §3.2): `*`, `devices`, `functions`, `device:NAME`,
   * `group:NAME`, `service:SERVICE`, `function:SERVICE/FUNCTION`. Operators always may.
   * Absent: operators and hosted functions (gateway/security/call-policy.ts DEFAULT_INVOKERS).
   */
  invokers?: readonly string[];
  /**
   * Who the function's processes run as. Set when the gateway places a function
   * (gateway/containment/containment.ts), never by the template; `codeDir` is then the staged
   * copy of codeUri. Absent: the gateway's own user and codeUri itself.
   */
  runAs?: RunAs;
}

/** A function's own user: numeric ids (no /etc/passwd entry needed) and its private home. */
export interface RunAs {
  uid: number;
  gid: number;
  /** HOME for the function, unless its environmentVariables set one: writable by it alone. */
  home: string;
}

/** Where an Async call's outcome goes (docs/protocol.md §10.5). */
export type DestinationSpec =
  | { kind: 'mqtt'; uri: string; topic: string }
  | { kind: 'fc'; uri: string; serviceName: string; functionName: string };

/** FC's asyncConfiguration, with our `maxAsyncQueueLength`; times in ms. */
export interface AsyncConfigSpec {
  maxAsyncRetryAttempts: number;
  maxAsyncEventAgeMs: number;
  /** Unfinished Async calls (enqueued, retrying, running) past which new ones are ResourceThrottled. */
  maxAsyncQueueLength: number;
  onSuccess: DestinationSpec | undefined;
  onFailure: DestinationSpec | undefined;
}

export interface TriggerSpec {
  name: string;
  type: 'mqtt';
  /** MQTT topic filter; `+` and `#` as in MQTT 3.1.1 §4.7. */
  topic: string;
}

/** FC's customRuntimeConfig, checked: the process is `command[0]` with `[...command[1..], ...args]`. */
export interface CustomRuntimeSpec {
  /** At least one element; the first is an absolute path or a name looked up in PATH. */
  command: readonly string[];
  args: readonly string[];
  /** false: FC's non-web mode, a process per event with the event in FC_CUSTOM_CONTAINER_EVENT. */
  webServerMode: boolean;
  /**
   * FC's `port` (CAPort): the server listens on this port, in a network namespace of each
   * instance's own (docs/runtime-custom.md §3.2). Absent: a free port per instance.
   */
  port?: number;
}

/** FC's instanceLifecycleConfig.preStop. */
export interface LifecycleHookSpec {
  /** Passed to the function (x-fc-function-handler of the hook); custom runtimes ignore it. */
  handler: string;
  timeoutMs: number;
}

/** Who the gateway says it is to functions (context.region, accountId, credentials). */
export interface GatewayIdentity {
  region: string;
  accountId: string;
  credentials: {
    accessKeyId: string;
    accessKeySecret: string;
    securityToken: string;
  };
}

export interface Template {
  /** Absolute path of the file it came from, for error messages. */
  path: string;
  identity: GatewayIdentity;
  services: ServiceSpec[];
  functions: FunctionSpec[];
}
