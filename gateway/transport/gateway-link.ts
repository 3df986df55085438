/**
 * The gateway's own MQTT connection: subscribes to the request topics (docs/protocol.md §2.1,
 * §9.1) and publishes replies. The same code serves the embedded broker and an external one.
 *
 * With an external broker it first tries MQTT 5, so plain MQTT 5 requests (§8) work, and falls
 * back to 3.1.1 when the broker refuses (aedes, older brokers).
 */
import { ErrorWithReasonCode, type IClientPublishOptions, type MqttClient } from 'mqtt';
import { ServiceUnavailableError } from '../../src/errors.js';
import { connectMqtt } from '../../src/mqtt/connect.js';
import { ADMIN_SUBSCRIPTION, INVOKE_SUBSCRIPTION } from '../../src/protocol/topics.js';
import type { Logger } from '../logging/logger.js';
import type { InboundMessage, OutboundProperties, ReplySink } from './inbound-message.js';

export interface GatewayLinkOptions {
  brokerUrl: string;
  clientId: string;
  username?: string;
  password?: string;
  /** 4 for MQTT 3.1.1 only; 5 tries MQTT 5 first, then 3.1.1. */
  protocolVersion: 4 | 5;
  connectTimeoutMs: number;
  logger: Logger;
  /** Called for every message; `sink` is this link, ready for replies from the first message on. */
  onMessage: (message: InboundMessage, sink: ReplySink) => void;
}

export class GatewayLink implements ReplySink {
  readonly #client: MqttClient;
  readonly #logger: Logger;
  readonly protocolVersion: 4 | 5;

  private constructor(client: MqttClient, protocolVersion: 4 | 5, logger: Logger) {
    this.#client = client;
    this.protocolVersion = protocolVersion;
    this.#logger = logger;
  }

  static async open(options: GatewayLinkOptions): Promise<GatewayLink> {
    const { client, protocolVersion } = await connectWithFallback(options);
    const link = new GatewayLink(client, protocolVersion, options.logger);
    client.on('message', (topic, payload, packet) => {
      const message: InboundMessage = { topic, payload };
      const properties = packet.properties;
      if (properties?.responseTopic !== undefined) message.responseTopic = properties.responseTopic;
      if (properties?.correlationData !== undefined) message.correlationData = properties.correlationData;
      if (properties?.messageExpiryInterval !== undefined) message.messageExpiryInterval = properties.messageExpiryInterval;
      options.onMessage(message, link);
    });
    client.on('offline', () => options.logger.warn('broker connection lost; reconnecting', { broker: options.brokerUrl }));
    client.on('reconnect', () => options.logger.debug('reconnecting to broker', { broker: options.brokerUrl }));
    client.on('error', (error) => options.logger.warn('broker connection error', { error: error.message }));
    try {
      const granted = await client.subscribeAsync([INVOKE_SUBSCRIPTION, ADMIN_SUBSCRIPTION], { qos: 1 });
      const refused = granted.filter((grant) => grant.qos === 128).map((grant) => grant.topic);
      if (refused.length > 0) {
        throw new ServiceUnavailableError(`the broker refused the gateway's subscription to ${refused.join(', ')} (check its ACL)`);
      }
    } catch (error) {
      await client.endAsync(true);
      throw error instanceof ServiceUnavailableError
        ? error
        : new ServiceUnavailableError(`could not subscribe to request topics: ${String(error)}`, { cause: error });
    }
    return link;
  }

  publish(topic: string, payload: Buffer, properties?: OutboundProperties): void {
    const options: IClientPublishOptions = { qos: 1 };
    if (properties !== undefined && this.protocolVersion === 5) {
      options.properties = {};
      if (properties.correlationData !== undefined) options.properties.correlationData = properties.correlationData;
      if (properties.userProperties !== undefined) options.properties.userProperties = properties.userProperties;
    }
    this.#client.publish(topic, payload, options, (error) => {
      if (error !== undefined && error !== null) {
        this.#logger.warn('reply publish failed', { topic, error: error.message });
      }
    });
  }

  async close(): Promise<void> {
    await this.#client.endAsync(false);
  }
}

async function connectWithFallback(options: GatewayLinkOptions): Promise<{ client: MqttClient; protocolVersion: 4 | 5 }> {
  const base = {
    clientId: options.clientId,
    connectTimeoutMs: options.connectTimeoutMs,
    ...(options.username === undefined ? {} : { username: options.username }),
    ...(options.password === undefined ? {} : { password: options.password }),
  };
  if (options.protocolVersion === 5) {
    try {
      const client = await connectMqtt(options.brokerUrl, { ...base, protocolVersion: 5 });
      return { client, protocolVersion: 5 };
    } catch (error) {
      // Only a broker that answered and said no gets a second try; an unreachable one fails now.
      if (!(error instanceof Error && error.cause instanceof ErrorWithReasonCode)) throw error;
      options.logger.info('broker refused MQTT 5; using MQTT 3.1.1 (plain MQTT 5 requests are off)', {
        error: error.message,
      });
    }
  }
  const client = await connectMqtt(options.brokerUrl, { ...base, protocolVersion: 4 });
  return { client, protocolVersion: 4 };
}
