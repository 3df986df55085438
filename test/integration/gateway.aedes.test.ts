import { defineGatewaySuite } from './gateway-suite.js';

// The embedded broker: aedes inside the gateway process, on a free port.
defineGatewaySuite('aedes', () => Promise.resolve(undefined), { mqtt5: false });
