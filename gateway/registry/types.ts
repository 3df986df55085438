/**
 * What the registry holds once a template is loaded and checked (gateway/registry/load-template.ts).
 * Field names follow Function Compute's template where FC has one; units are converted once,
 * here, so nothing downstream guesses: sizes in MB, times in milliseconds.
 */

export const RuntimeName = {
  nodejs20: 'nodejs20',
  nodejs18: 'nodejs18',
} as const;
export type RuntimeName = (typeof RuntimeName)[keyof typeof RuntimeName];

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
  /** Calls that may wait for a free instance; past it, ResourceThrottled at once. */
  maxQueueLength: number;
  environmentVariables: Readonly<Record<string, string>>;
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
