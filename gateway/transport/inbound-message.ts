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
}

export interface OutboundProperties {
  correlationData?: Buffer;
  userProperties?: Record<string, string>;
}

/** Where the dispatcher sends replies. Publishing never throws; failures are logged by the link. */
export interface ReplySink {
  publish(topic: string, payload: Buffer, properties?: OutboundProperties): void;
}
