/**
 * The durable Async queue as the dispatch code sees it (docs/protocol.md §10): take a call
 * ("accepted" only once it is kept, §10.1), answer for its record (§10.3, §10.7, §9.4-§9.6a),
 * and run it at least once with retries and backoff (§10.4) on the gateway's function host.
 *
 * Two implementations, one per mode:
 *   - ./async-service.ts: one box, the calls in a SQLite file (./async-store.ts);
 *   - ./jetstream/jetstream-queue.ts: a NATS cluster, the calls in a replicated JetStream
 *     stream and their records in a replicated KV bucket (docs/cluster.md "Async calls").
 */
import type { FunctionSpec, ServiceSpec } from '../registry/types.js';
import type { ListFilter } from './async-store.js';
import type { InvocationRecord, NewInvocation } from './invocation-record.js';

export type { ListFilter } from './async-store.js';

export type AcceptInput = Omit<NewInvocation, 'createdAt' | 'service' | 'function' | 'notBefore'> & {
  /** §3.8: ms after acceptance before the call may run (the caller's delay). */
  delayMs?: number;
};

/** Publishes a destination message (QoS 1); resolves once the broker has acknowledged it. */
export type DestinationPublisher = (topic: string, payload: Buffer) => Promise<void>;

/** A call not yet finished, for the `edgefc_async_unfinished` gauge (gateway/metrics/). */
export interface UnfinishedCall {
  service: string;
  function: string;
  /** Accepted at, epoch ms (the oldest-waiting gauge). */
  createdAt: number;
}

export interface AsyncQueue {
  /**
   * Take one Async call (§10.1). May throw at once (ResourceThrottled, InvalidArgument,
   * ServiceUnavailable); resolves once the call is kept, with `duplicate` when this client's
   * request ID was taken before (§10.2: not kept or run again).
   */
  accept(service: Readonly<ServiceSpec>, fn: Readonly<FunctionSpec>, input: AcceptInput): Promise<{ duplicate: boolean }>;
  /** A client's own call (the status topic, §10.7). */
  status(clientId: string, requestId: string): Promise<InvocationRecord | undefined>;
  /** Every record with this request ID, newest first (§9.5). */
  get(requestId: string): Promise<InvocationRecord[]>;
  /** §9.4 */
  list(filter: ListFilter): Promise<InvocationRecord[]>;
  /** §9.6: end a waiting call `cancelled`; InvalidArgument when it is unknown, running or finished. */
  cancel(requestId: string, clientId?: string): Promise<InvocationRecord>;
  /** §9.6a: end a call `stopped`, cutting a running one off; InvalidArgument when unknown or finished. */
  stop(requestId: string, clientId?: string): Promise<InvocationRecord>;
  /** Start running calls; `publish` sends mqtt:// destination messages (§10.5). */
  start(publish: DestinationPublisher): void;
  /** Stop starting calls (the host then drains those running). */
  stopDispatch(): void;
  /** After the host closed: write the last outcomes and let go of the store. */
  close(): Promise<void>;
  /** False once closing, or while the store cannot be reached (readiness, gateway/metrics/metrics-server.ts). */
  readonly isOpen: boolean;
  /** Calls not finished that this gateway knows of (the metrics gauge). */
  unfinished(): readonly UnfinishedCall[];
}
