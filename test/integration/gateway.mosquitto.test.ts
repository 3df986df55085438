import { startMosquitto } from '../fixtures/brokers.js';
import { defineGatewaySuite } from './gateway-suite.js';

// An external Mosquitto, started on a free port; the gateway connects to it like any client.
defineGatewaySuite('mosquitto', async () => {
  const broker = await startMosquitto();
  return { url: broker.url, stop: () => broker.close() };
}, { mqtt5: true });
