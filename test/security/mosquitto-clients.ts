/**
 * Clients of a secured Mosquitto for the security tests: principals' FCClients, AdminClients and
 * plain MQTT connections (closed by `closeAll`), and a barrier that proves a message did not
 * arrive without waiting for a time.
 */
import type { IClientOptions, MqttClient } from 'mqtt';
import { nanoid } from 'nanoid';
import { AdminClient } from '../../gateway/cli/admin-client.js';
import { FCClient, type FCClientOptions } from '../../src/index.js';
import { connectMqtt } from '../../src/mqtt/connect.js';
import { invokeTopic, replyTopic } from '../../src/protocol/topics.js';
import type { SecuredMosquitto } from './mosquitto-env.js';

/** MQTT 5 reason code "Not authorized": Mosquitto's PUBACK for a publish its ACL refuses. */
export const NOT_AUTHORIZED = 0x87;

export class Clients {
  readonly #env: SecuredMosquitto;
  readonly #open: { close(): Promise<unknown> }[] = [];

  constructor(env: SecuredMosquitto) {
    this.#env = env;
  }

  /** `name`'s FCClient (client ID `name_…`), with its password from `edgefc users add`. */
  fc(name: string, options: FCClientOptions = {}): FCClient {
    const client = new FCClient({ brokerUrl: this.#env.broker.url, username: name, password: this.#password(name), timeout: 10_000, ...options });
    this.#open.push(client);
    return client;
  }

  admin(name: string): AdminClient {
    const client = new AdminClient({ brokerUrl: this.#env.broker.url, username: name, password: this.#password(name), timeoutMs: 10_000 });
    this.#open.push(client);
    return client;
  }

  /** A plain MQTT connection logged in as `name` (MQTT 5 unless told otherwise), no reconnects. */
  async mqtt(name: string, options: IClientOptions = {}): Promise<MqttClient> {
    const client = await connectMqtt(this.#env.broker.url, {
      connectTimeoutMs: 5_000,
      reconnectPeriod: 0,
      protocolVersion: 5,
      username: name,
      password: this.#password(name),
      clientId: `${name}_${nanoid(8)}`,
      ...options,
    });
    this.#open.push({ close: () => client.endAsync(true) });
    return client;
  }

  /** Close `client` with the others. */
  track<T extends { close(): Promise<unknown> }>(client: T): T {
    this.#open.push(client);
    return client;
  }

  async closeAll(): Promise<void> {
    await Promise.all(this.#open.splice(0).map((client) => client.close()));
  }

  #password(name: string): string {
    const password = this.#env.passwords.get(name);
    if (password === undefined) throw new Error(`no password for ${name}: add it with env.addUser`);
    return password;
  }
}

/** Every topic `client` receives from now on. */
export function received(client: MqttClient): string[] {
  const topics: string[] = [];
  client.on('message', (topic) => topics.push(topic));
  return topics;
}

/**
 * Resolves once a reply the gateway sent after everything so far has reached `client` (logged in
 * as `name`, MQTT 5): a plain request whose answer (AccessDenied for a device: Test/secret is not
 * theirs) goes to the client's own reply topic. Mosquitto queues a message to its subscribers
 * when it handles the PUBLISH, one at a time, and sends each subscriber's queue in order: any
 * message it handled earlier that this client may read has arrived before the barrier's.
 * Resolves with the barrier's topic.
 */
export async function barrier(client: MqttClient, name: string): Promise<string> {
  const topic = `${replyTopic(name)}/barrier-${nanoid(8)}`;
  await client.subscribeAsync(topic, { qos: 1 });
  const arrived = new Promise<void>((resolve) => {
    const onMessage = (at: string): void => {
      if (at !== topic) return;
      client.off('message', onMessage);
      resolve();
    };
    client.on('message', onMessage);
  });
  await client.publishAsync(invokeTopic(name, 'Test', 'secret'), 'barrier', { qos: 1, properties: { responseTopic: topic } });
  await arrived;
  return topic;
}

/** `ok`, or the MQTT 5 reason code a refused PUBLISH was answered with. */
export async function settledPubackCode(publish: Promise<unknown>): Promise<number | 'ok'> {
  try {
    await publish;
    return 'ok';
  } catch (error) {
    return (error as { code: number }).code;
  }
}
