/**
 * Sends admin operations (docs/protocol.md §9) to a running gateway over MQTT.
 */
import { nanoid } from 'nanoid';
import { newRequestId } from 'edgefc/protocol';
import { InternalError, RequestTimeoutError } from 'edgefc/errors';
import { encodeFrame } from 'edgefc/protocol';
import { ReplyStatus } from 'edgefc/protocol';
import { adminTopic } from 'edgefc/protocol';
import { RequestChannel } from 'edgefc/request-channel';
import { resolveClientOptions, type ClientTls } from 'edgefc/client';

export interface AdminClientOptions {
  brokerUrl: string;
  timeoutMs: number;
  username?: string;
  password?: string;
  tls?: ClientTls;
}

export class AdminClient {
  readonly #channel: RequestChannel;
  /** The topic level of its admin requests: the operator's name when it logs in. */
  readonly #address: string;
  readonly #timeoutMs: number;

  constructor(options: AdminClientOptions) {
    this.#timeoutMs = options.timeoutMs;
    const resolved = resolveClientOptions({
      brokerUrl: options.brokerUrl,
      ...(options.username === undefined ? { clientId: `edgefc-cli-${nanoid(10)}` } : { username: options.username }),
      ...(options.password === undefined ? {} : { password: options.password }),
      ...(options.tls === undefined ? {} : { tls: options.tls }),
    });
    this.#address = resolved.address;
    this.#channel = new RequestChannel({
      ...resolved,
      connectTimeout: Math.min(options.timeoutMs, 5000),
      logger: { warn: (message) => process.emitWarning(message) },
    });
  }

  /**
   * `requestQos` 0 for a read-only operation that must get through when a broker cannot store
   * QoS 1 messages: nats-server's MQTT layer without a JetStream quorum (docs/scale-out.md §5).
   * A request lost on the way is noticed by the timeout, and the operation is safe to ask again.
   */
  async call(operation: string, args: Record<string, unknown> = {}, requestQos: 0 | 1 = 1): Promise<unknown> {
    const timeoutError = new RequestTimeoutError(`the gateway did not answer "${operation}" in time: is it running on this broker?`);
    const requestId = newRequestId();
    const reply = await this.#channel.request({
      requestId,
      deadline: Date.now() + this.#timeoutMs,
      signal: undefined,
      timeoutError,
      topic: adminTopic(this.#address, operation),
      qos: requestQos,
      frame: (remaining) => encodeFrame({ id: requestId, type: 'Sync', timeout: remaining }, Buffer.from(JSON.stringify(args))),
    });
    switch (reply.status) {
      case ReplyStatus.ok:
        return JSON.parse(reply.payload.toString('utf8')) as unknown;
      case ReplyStatus.error:
        throw reply.error;
      case ReplyStatus.accepted:
        throw new InternalError(`admin operation "${operation}" was answered "accepted"`);
    }
  }

  close(): Promise<void> {
    return this.#channel.close();
  }
}
