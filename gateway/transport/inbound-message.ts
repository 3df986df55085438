/**
 * A message as the gateway's dispatcher sees it, independent of the MQTT library: the MQTT 5
 * request/response properties are present only when the broker speaks MQTT 5 (§8).
 */
export interface InboundMessage {
  topic: string;
  payload: Buffer;
  responseTopic?: string;
  correlationData?: Buffer;
  /** MQTT 5 Message Expiry Interval, in seconds: a plain request's budget (§8.1). */
  messageExpiryInterval?: number;
  /**
   * MQTT 5 user properties `traceparent` and `tracestate` (W3C Trace Context: MQTT format): a
   * plain request's trace context (§8.6), unchecked here (readTraceContext drops what is bad).
   */
  traceparent?: unknown;
  tracestate?: unknown;
  /** MQTT 5 user property `x-fc-qualifier`: a plain request's qualifier (§8.7), unchecked here. */
  qualifier?: unknown;
}

export interface OutboundProperties {
  correlationData?: Buffer;
  userProperties?: Record<string, string>;
}

/** Where the dispatcher sends replies. Publishing never throws; failures are logged by the link. */
export interface ReplySink {
  /**
   * A reply. Without `properties` it is an envelope reply (§4), sent at QoS 0 (§1.2: its client
   * repeats what it still waits for, §4.4, and the gateway answers repeats from §10.2); with
   * them, a plain MQTT 5 reply (§8.3), sent at QoS 1.
   */
  publish(topic: string, payload: Buffer, properties?: OutboundProperties): void;
}

/** §1.2: the QoS of envelope replies (§4). */
export const REPLY_QOS = 0;
