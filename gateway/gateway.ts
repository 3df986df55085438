/**
 * The gateway process's core: registry + function host + broker link, and the embedded broker
 * when no external one is given. `Gateway.start()` is what `edgefc start` runs.
 */
import { nanoid } from 'nanoid';
import { startEmbeddedBroker, type EmbeddedBroker } from './broker/embedded-broker.js';
import { dispatchMessage } from './dispatch/dispatch-message.js';
import type { DispatchContext } from './dispatch/dispatch-context.js';
import { FunctionHost } from './function-host.js';
import { createStreamLogger, type Logger } from './logging/logger.js';
import { loadTemplate } from './registry/load-template.js';
import { Registry } from './registry/registry.js';
import { NodeRuntime } from './runtime/node/node-runtime.js';
import { GatewayLink } from './transport/gateway-link.js';

export interface GatewayOptions {
  /** Path of the services/functions template (YAML). */
  templatePath: string;
  /**
   * External broker to use, e.g. Mosquitto. When absent, the gateway starts its embedded broker.
   * @example 'mqtt://127.0.0.1:1883'
   */
  brokerUrl?: string;
  /**
   * Embedded broker's listen address. Like Mosquitto 2, it listens on loopback unless told
   * otherwise: pass '0.0.0.0' to serve devices on the network.
   * @default '127.0.0.1'
   */
  host?: string;
  /** Embedded broker's port; 0 picks a free one. @default 1883 */
  port?: number;
  username?: string;
  password?: string;
  /** @default a logger writing to stderr */
  logger?: Logger;
  /** @default 5000 */
  connectTimeoutMs?: number;
}

export class Gateway {
  readonly registry: Registry;
  /** The URL devices and functions use to reach this gateway's broker. */
  readonly brokerUrl: string;
  readonly embedded: boolean;
  readonly #host: FunctionHost;
  readonly #link: GatewayLink;
  readonly #broker: EmbeddedBroker | undefined;
  readonly #logger: Logger;
  #stopping: Promise<void> | undefined;

  private constructor(parts: {
    registry: Registry;
    brokerUrl: string;
    host: FunctionHost;
    link: GatewayLink;
    broker: EmbeddedBroker | undefined;
    logger: Logger;
  }) {
    this.registry = parts.registry;
    this.brokerUrl = parts.brokerUrl;
    this.embedded = parts.broker !== undefined;
    this.#host = parts.host;
    this.#link = parts.link;
    this.#broker = parts.broker;
    this.#logger = parts.logger;
  }

  static async start(options: GatewayOptions): Promise<Gateway> {
    const logger = options.logger ?? createStreamLogger();
    // A bad template fails before anything listens (file, field and why: registry/load-template).
    const template = await loadTemplate(options.templatePath);
    const registry = new Registry(template);

    const broker =
      options.brokerUrl === undefined
        ? await startEmbeddedBroker({ host: options.host ?? '127.0.0.1', port: options.port ?? 1883 })
        : undefined;
    const brokerUrl = broker?.url ?? options.brokerUrl ?? '';
    const runtime = new NodeRuntime();
    const host = new FunctionHost({ registry, runtime, brokerUrl, logger });
    const startedAt = Date.now();
    let link: GatewayLink;
    let context: DispatchContext | undefined;
    try {
      link = await GatewayLink.open({
        brokerUrl,
        clientId: `edgefc-gateway-${nanoid(10)}`,
        ...(options.username === undefined ? {} : { username: options.username }),
        ...(options.password === undefined ? {} : { password: options.password }),
        protocolVersion: broker === undefined ? 5 : 4,
        connectTimeoutMs: options.connectTimeoutMs ?? 5000,
        logger,
        onMessage: (message, sink) => {
          context ??= { registry, host, sink, logger, now: Date.now, startedAt };
          try {
            dispatchMessage(context, message);
          } catch (error) {
            // Handlers answer every failure they expect; reaching here is a bug. One message is
            // lost, the gateway and every other call go on.
            logger.error('unexpected failure dispatching a message', {
              topic: message.topic.slice(0, 200),
              error: error instanceof Error ? (error.stack ?? error.message) : String(error),
            });
          }
        },
      });
    } catch (error) {
      await host.close();
      await broker?.close();
      throw error;
    }
    const gateway = new Gateway({ registry, brokerUrl, host, link, broker, logger });
    logger.info('gateway ready', {
      broker: brokerUrl,
      embedded: broker !== undefined,
      mqtt: link.protocolVersion === 5 ? '5' : '3.1.1',
      functions: registry.functions().length,
    });
    return gateway;
  }

  stats(): ReturnType<FunctionHost['stats']> {
    return this.#host.stats();
  }

  /** Stop taking calls, let running ones finish (bounded), stop every instance and the broker. */
  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<void> {
    this.#logger.info('gateway stopping');
    await this.#host.close();
    await this.#link.close();
    await this.#broker?.close();
    this.#logger.info('gateway stopped');
  }
}
