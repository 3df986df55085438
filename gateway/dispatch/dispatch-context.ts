/**
 * What every inbound-message handler needs; built once by the Gateway.
 */
import type { Logger } from '../logging/logger.js';
import type { FunctionHost } from '../function-host.js';
import type { Registry } from '../registry/registry.js';
import type { ReplySink } from '../transport/inbound-message.js';

export interface DispatchContext {
  registry: Registry;
  host: FunctionHost;
  sink: ReplySink;
  logger: Logger;
  /** Gateway clock, epoch ms; injectable for tests. */
  now: () => number;
  startedAt: number;
}
