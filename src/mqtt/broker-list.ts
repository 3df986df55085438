/**
 * A broker address that may name several brokers, comma-separated:
 * `mqtt://10.0.0.1:1883,mqtt://10.0.0.2:1883,mqtt://10.0.0.3:1883` (the nodes of a NATS cluster's
 * MQTT listener, docs/cluster.md). The first is tried first; each reconnect tries the next, round
 * robin (MQTT.js's `servers`), so a client whose broker died reaches another without a balancer.
 */
import type { IClientOptions } from 'mqtt';
import { InvalidArgumentError } from '../errors.js';
import { redactUrl } from './redact-url.js';

type Server = NonNullable<IClientOptions['servers']>[number];

export interface BrokerList {
  /** The first broker's URL: what MQTT.js is given (scheme, login, the first server). */
  first: string;
  /** Every broker, in order; undefined for one broker. */
  servers: Server[] | undefined;
}

/** The schemes a broker list may use: plain TCP or TLS, with MQTT's default ports. */
const SCHEMES: Readonly<Record<string, { protocol: 'mqtt' | 'mqtts'; port: number }>> = {
  mqtt: { protocol: 'mqtt', port: 1883 },
  tcp: { protocol: 'mqtt', port: 1883 },
  mqtts: { protocol: 'mqtts', port: 8883 },
  ssl: { protocol: 'mqtts', port: 8883 },
};

/** InvalidArgument for an entry that is not an MQTT URL, naming it (its password hidden). */
export function parseBrokerList(url: string): BrokerList {
  const entries = url.split(',').map((entry) => entry.trim());
  if (entries.length === 1) return { first: url, servers: undefined };
  const servers = entries.map((entry): Server => {
    let parsed: URL;
    try {
      parsed = new URL(entry);
    } catch {
      throw new InvalidArgumentError(`broker list entry "${redactUrl(entry)}" is not a URL (mqtt://HOST:PORT or mqtts://HOST:PORT, comma-separated)`);
    }
    const scheme = SCHEMES[parsed.protocol.replace(/:$/, '')];
    if (scheme === undefined || parsed.hostname === '') {
      throw new InvalidArgumentError(`broker list entry "${redactUrl(entry)}" is not mqtt://HOST:PORT or mqtts://HOST:PORT (a list takes plain TCP or TLS brokers)`);
    }
    return { host: parsed.hostname.replace(/^\[(.*)\]$/, '$1'), port: parsed.port === '' ? scheme.port : Number(parsed.port), protocol: scheme.protocol };
  });
  return { first: entries[0] ?? url, servers };
}
