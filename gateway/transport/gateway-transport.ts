/**
 * What the gateway needs from its connection to the broker, whichever way it is made: over MQTT
 * (./gateway-link.ts: an external broker), inside the process (./in-process-link.ts: the
 * embedded aedes, without TCP), or natively to a NATS cluster (./nats-link.ts: several gateways
 * in one queue group, devices on nats-server's MQTT listener).
 */
import type { InboundMessage, ReplySink } from './inbound-message.js';

/**
 * Called for every message the gateway subscribes to; `sink` is the transport, ready for replies
 * from the first message on. When it returns a promise (a durable Async call, a trigger message),
 * the publisher's acknowledgement of a QoS 1 message waits until that settles (§10.1).
 */
export type MessageHandler = (message: InboundMessage, sink: ReplySink) => Promise<void> | undefined;

export interface GatewayTransport extends ReplySink {
  /** 5 when plain MQTT 5 requests (§8) can arrive; 4 (MQTT 3.1.1) otherwise. */
  readonly protocolVersion: 4 | 5;
  /**
   * Is the link to the broker up now? (`/readyz`.) An external broker's or NATS's connection
   * state; for the embedded broker, whether its listener is listening.
   */
  readonly connected: boolean;
  /** Publish QoS 1 and resolve once the broker has taken it (destinations, §10.5). */
  publishConfirmed(topic: string, payload: Buffer): Promise<void>;
  /**
   * Take messages on these trigger filters (§11) from now on, instead of the ones given before
   * (a redeploy). Rejects with ServiceUnavailable when the broker refuses a subscription; the
   * link then keeps the filters it had.
   */
  setTriggerFilters(filters: readonly string[]): Promise<void>;
  /**
   * Stop being given new messages while those already taken finish (NATS: leave the queue group,
   * so the other gateways take the new calls). Absent: nothing to leave; close() stops.
   */
  stopTaking?(): Promise<void>;
  /** Stop receiving messages; later publishes are dropped. */
  close(): Promise<void>;
}
