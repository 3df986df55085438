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
  publish(topic: string, payload: Buffer, properties?: OutboundProperties): void;
}
