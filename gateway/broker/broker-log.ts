/**
 * What of the embedded broker's events (embedded-broker.ts BrokerEvent) goes to the gateway's
 * log. Only what an operator acts on: a client refused for its packet size, QoS 0 shedding, a
 * broker fault. Connects, disconnects and client errors are routine on a network of devices
 * (hundreds a minute when a site's Wi-Fi flaps) and stay out.
 */
import type { Logger } from '../logging/logger.js';
import type { BrokerEvent } from './embedded-broker.js';

export function logBrokerEvent(logger: Logger): (event: BrokerEvent) => void {
  return (event) => {
    switch (event.type) {
      case 'oversizePacket':
        logger.warn(
          event.packetBytes === undefined
            ? 'closed a connection that sent a malformed packet length (MQTT 3.1.1 §2.2.3)'
            : 'closed a connection that announced a packet over the size limit (docs/protocol.md §7.6)',
          {
            clientId: event.clientId,
            remoteAddress: event.remoteAddress,
            packetBytes: event.packetBytes,
            maxPacketBytes: event.maxPacketBytes,
          },
        );
        return;
      case 'slowClient':
        logger.warn('dropping QoS 0 messages to a client that does not keep up', { clientId: event.clientId, bufferedBytes: event.bufferedBytes });
        return;
      case 'brokerError':
        logger.error('embedded broker error', { error: event.error.message });
        return;
      case 'clientConnected':
      case 'clientDisconnected':
      case 'clientError':
      case 'connectionError':
        return;
    }
  };
}
