/**
 * The embedded MQTT broker: aedes 1.2 on a plain TCP server. MQTT 3.1.1 only (aedes answers an
 * MQTT 5 CONNECT with return code 1, "unacceptable protocol version", and it grants `$share/...`
 * subscriptions but delivers nothing on them); use Mosquitto for MQTT 5.
 *
 * Overload (measured on 2 cores, Node 20.20.2, aedes 1.2.0 with mqemitter 7.1.0; reproduced by
 * test/broker/overload.test.ts, broker in a child process). With aedes's defaults a QoS 0 flood
 * kills the process: 10 raw publishers x 20,000 QoS 0 messages (64 B) at a subscriber that never
 * reads stall after ~54,000 messages (once the loopback buffers are full) with 7,300-8,600
 * messages queued in mqemitter; when the subscriber then disconnects the process dies with
 * `RangeError: Maximum call stack size exceeded` (10 of 10 runs). The mechanism: mqemitter keeps
 * messages beyond `concurrency` (default 100) in a queue and, when a slot frees, starts the next
 * one from inside the finishing one (`released` -> `_do` -> fastparallel). A queued message that
 * now matches no subscriber finishes synchronously, so the backlog unwinds as one recursion
 * thousands of frames deep. Mitigations (all three on by default):
 *
 *   1. `concurrency: 0` (no limit): mqemitter never queues, so that recursion cannot happen.
 *      Backpressure is not lost: aedes reads a publisher's next socket chunk only after every
 *      message of the previous one was delivered, so in-flight messages stay bounded per
 *      publisher (one socket read, <= 64 KiB). It also isolates clients: with a limit, a frozen
 *      subscriber holding every slot stalls delivery for everyone (aedes docs: "complete
 *      deadlock"); without one it can only stall the publishers that send to it.
 *   2. QoS 0 shedding (./qos0-shedding.ts): QoS 0 messages to a client whose socket already holds
 *      `socketHighWaterMark` (256 KiB) unsent are dropped rather than stalling their publishers
 *      until `drainTimeout`. Same flood: all 200,000 messages through in 1.8-2.5 s, ~166,000
 *      dropped for the frozen subscriber, mqemitter backlog 0, broker RSS ~270 MB, a fresh client
 *      served right after. (At a 16 KiB mark: 1.2-2.2 s, ~193,300 dropped, RSS ~220 MB.) Without shedding (concurrency 0 alone) the publishers stall as above until
 *      `drainTimeout`, but the process survives.
 *   3. `drainTimeout` 10 s (default 60 s): how long a client that stopped reading may hold up
 *      QoS 1/2 delivery (and so its publishers) before it is disconnected.
 */
import type { EventEmitter } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { Aedes, type AedesOptions, type AuthenticateError, type Client, type PublishPacket } from 'aedes';
import type { BrokerAuth } from '../security/broker-auth.js';
import { ServiceUnavailableError } from 'edgefc/errors';
import { guardPacketSize } from './packet-size-guard.js';
import { createQos0Shedder } from './qos0-shedding.js';

/** What the broker reports about its clients; it logs nothing itself. */
export type BrokerEvent =
  | { type: 'clientConnected'; clientId: string; remoteAddress: string | undefined }
  | { type: 'clientDisconnected'; clientId: string }
  | { type: 'clientError'; clientId: string; error: Error }
  /** An error before CONNECT completed: bad first packet, CONNECT timeout, refused protocol. */
  | { type: 'connectionError'; remoteAddress: string | undefined; error: Error }
  /** Once per slow episode: QoS 0 messages to this client are being dropped (see header). */
  | { type: 'slowClient'; clientId: string; bufferedBytes: number }
  /**
   * A packet over `maxPacketBytes` (`packetBytes`, fixed header included) or with a malformed
   * Remaining Length (`packetBytes` undefined) was announced: the connection was closed before
   * its body was read. `clientId` is undefined before CONNECT was handled.
   */
  | { type: 'oversizePacket'; clientId: string | undefined; remoteAddress: string | undefined; packetBytes: number | undefined; maxPacketBytes: number }
  | { type: 'brokerError'; error: Error };

export interface EmbeddedBrokerOptions {
  /**
   * Listen address. Loopback unless told otherwise, like Mosquitto 2.
   * @default '127.0.0.1'
   * @example startEmbeddedBroker({ host: '0.0.0.0', port: 1883 }) // serve the network
   */
  host?: string;
  /**
   * Listen port; 0 picks a free one (read the result's `port`).
   * @default 1883
   */
  port?: number;
  /** Receives client lifecycle and error events. @default no-op */
  log?: (event: BrokerEvent) => void;
  /**
   * mqemitter's in-flight message limit; 0 = no limit. Keep 0: any limit brings back the queue
   * whose unwinding overflows the stack under a QoS 0 flood (see header).
   * @default 0
   */
  concurrency?: number;
  /**
   * Drop QoS 0 messages to a client whose socket already holds `socketHighWaterMark` bytes of
   * unsent data, instead of stalling the publisher until it drains.
   * @default true
   */
  dropQos0ForSlowClients?: boolean;
  /**
   * Read and write buffer of each client socket, in bytes (see DEFAULT_SOCKET_HIGH_WATER_MARK).
   * @default 262_144
   */
  socketHighWaterMark?: number;
  /**
   * Disconnect a client whose socket has not drained for this long.
   * @default 10_000
   */
  drainTimeoutMs?: number;
  /**
   * Who may connect, publish and subscribe (gateway/security/broker-auth.ts). Absent: anyone may
   * do anything, as with aedes's defaults: only for `--insecure`.
   */
  auth?: BrokerAuth;
  /**
   * Serve MQTT over TLS (mqtts) instead of plain TCP. With `ca`, clients may present a
   * certificate signed by it, and its subject CN names their principal (mutual TLS).
   */
  tls?: BrokerTlsOptions;
  /**
   * Largest MQTT packet a client may send, fixed header included (see DEFAULT_MAX_PACKET_BYTES).
   * A client that announces a larger one is disconnected before its body is read
   * (./packet-size-guard.ts) and an `oversizePacket` event is logged.
   * @default 7_340_032 (7 MiB)
   * @example startEmbeddedBroker({ maxPacketBytes: 256 * 1024 }) // devices that only send Async calls
   */
  maxPacketBytes?: number;
}

/** PEM contents, not paths. */
export interface BrokerTlsOptions {
  cert: Buffer;
  key: Buffer;
  ca?: Buffer;
}

/**
 * Sees a PUBLISH from a client (or a client's will) after aedes checked its topic and before
 * anything else happens to it: aedes sends the publisher's PUBACK (QoS 1) or PUBREC (QoS 2),
 * then delivers to subscribers, only once `release` is called. aedes 1.2 acknowledges a QoS 1
 * PUBLISH *before* it delivers it (lib/handlers/publish.js `enqueuePublish`: write PubAck, then
 * `broker.publish`), so a subscriber, even one inside the process, cannot hold a publisher's PUBACK;
 * this hook is the only place that can (test/broker/publish-interceptor.test.ts).
 *
 * While `release` is pending aedes reads nothing more from that publisher's socket (it takes the
 * next read once every packet of the previous one is done); other clients go on. Messages aedes
 * publishes itself (`aedes.publish`: $SYS, the gateway's own replies) do not pass through here.
 */
export type PublishInterceptor = (packet: PublishPacket, release: (error?: Error | null) => void) => void;

export interface EmbeddedBrokerStats {
  connectedClients: number;
  /** QoS 0 messages dropped for slow clients since start. */
  droppedQos0: number;
}

export interface EmbeddedBroker {
  readonly aedes: Aedes;
  readonly server: Server;
  /** `mqtt://host:port` for clients; an unspecified listen address (0.0.0.0, ::) maps to loopback. */
  readonly url: string;
  readonly host: string;
  /** The real port, also when asked for 0. */
  readonly port: number;
  stats(): EmbeddedBrokerStats;
  /** Install (or, with undefined, remove) the one PublishInterceptor; see there. */
  interceptPublishes(interceptor: PublishInterceptor | undefined): void;
  /** Disconnect every client, stop listening, close aedes. Idempotent; resolves when all is closed. */
  close(): Promise<void>;
}

const DEFAULT_DRAIN_TIMEOUT_MS = 10_000;
/**
 * 256 KiB (Node's default is 16 KiB). Writable side: the per-client buffer a subscriber may fall
 * behind by before QoS 0 shedding starts; at 16 KiB a gateway that was busy for a few ms lost
 * QoS 0 requests of a 5,000-message burst (1,461-1,623 of 5,000 answered in the gateway's
 * integration flood test; all 5,000 at 256 KiB), measured when the gateway was an MQTT client of
 * this broker; it now takes requests in process (gateway/transport/in-process-link.ts), which
 * never sheds, but devices and functions subscribe through sockets like any client. Readable side: aedes handles one read of a
 * publisher's socket as one batch, so this also bounds in-flight messages per publisher.
 */
const DEFAULT_SOCKET_HIGH_WATER_MARK = 256 * 1024;

/**
 * 7 MiB: the largest request the protocol allows is a Sync event of 6 MiB (docs/protocol.md
 * §7.2) behind an envelope header of up to 64 KiB (§7.4) on a topic of at most ~330 bytes
 * (prefix, a 64-character client ID, two 128-character names: §2.4, §7.1), about 6.07 MiB in
 * all; the rest is headroom. A larger packet can only be refused by the gateway after it was
 * read whole, so reading it is pure cost.
 */
export const DEFAULT_MAX_PACKET_BYTES = 7 * 1024 * 1024;

/**
 * Start aedes on `host:port`. Rejects with `ServiceUnavailableError` ("cannot listen on
 * 127.0.0.1:1883: EADDRINUSE ...", the system error as `cause`) when the port cannot be bound.
 */
export async function startEmbeddedBroker(options: EmbeddedBrokerOptions = {}): Promise<EmbeddedBroker> {
  const host = options.host ?? '127.0.0.1';
  const requestedPort = options.port ?? 1883;
  const log = options.log ?? (() => undefined);
  const shedder = createQos0Shedder((client, bufferedBytes) => {
    log({ type: 'slowClient', clientId: client.id, bufferedBytes });
  });
  const shedQos0 = options.dropQos0ForSlowClients ?? true;

  const aedesOptions: AedesOptions = {
    concurrency: options.concurrency ?? 0,
    drainTimeout: options.drainTimeoutMs ?? DEFAULT_DRAIN_TIMEOUT_MS,
    // A socket that opens and never sends CONNECT holds a file descriptor; 30 s default is
    // generous for devices on a LAN. [MQTT-3.1.0-1]: CONNECT must be the first packet.
    connectTimeout: 10_000,
    // Packets a client may pipeline behind CONNECT before its CONNACK; past it aedes drops the
    // client. aedes's 42 covers MQTT.js, which holds packets until CONNACK.
    queueLimit: 42,
    // Only enforced for MQTT 3.1 (v3) clients, whose spec caps the id at 23 bytes; 3.1.1 clients
    // may send any length [MQTT-3.1.3-5], and aedes does not check them.
    maxClientsIdLength: 23,
    // $SYS/<id>/heartbeat is only for aedes clusters; we run one broker, so the 60 s default
    // costs nothing and is left alone.
    heartbeatInterval: 60_000,
  };
  if (shedQos0) aedesOptions.authorizeForward = shedder.authorizeForward;
  let interceptor: PublishInterceptor | undefined;
  const auth = options.auth;
  if (auth !== undefined) {
    aedesOptions.authenticate = (client, username, password, callback) => {
      // ConnectRefused carries the CONNACK return code aedes wants (2, 4 or 5).
      auth.authenticate(client, username, password, (error, ok) => callback(error as AuthenticateError | null, ok));
    };
    aedesOptions.authorizeSubscribe = (client, subscription, callback) => {
      auth.authorizeSubscribe(client, subscription, callback);
    };
  }
  aedesOptions.authorizePublish = (client, packet, callback) => {
    // aedes's default check, kept: clients may not publish into the broker's $SYS tree.
    if (packet.topic.startsWith('$SYS/')) {
      callback(new Error('$SYS/ topic is reserved'));
      return;
    }
    // Checked before the gateway sees the message: a publish outside the principal's own
    // topics never reaches the dispatcher (aedes then closes the connection).
    const denial = client === null || auth === undefined ? undefined : auth.publishDenial(client, packet);
    if (denial !== undefined) {
      callback(new Error(denial));
      return;
    }
    if (interceptor === undefined) callback(null);
    else interceptor(packet, callback);
  };

  const aedes = await Aedes.createBroker(aedesOptions);
  aedes.on('client', (client) => {
    log({ type: 'clientConnected', clientId: client.id, remoteAddress: remoteAddressOf(client) });
  });
  aedes.on('clientDisconnect', (client) => {
    auth?.forget(client);
    log({ type: 'clientDisconnected', clientId: client.id });
  });
  aedes.on('clientError', (client, error) => {
    log({ type: 'clientError', clientId: client.id, error });
  });
  aedes.on('connectionError', (client, error) => {
    log({ type: 'connectionError', remoteAddress: remoteAddressOf(client), error });
  });
  // Without a listener an 'error' from persistence would crash the gateway.
  (aedes as EventEmitter).on('error', (error: Error) => {
    log({ type: 'brokerError', error });
  });

  // Sockets that never become aedes clients (no CONNECT yet) must be closed by us on close().
  const sockets = new Set<Socket>();
  const highWaterMark = options.socketHighWaterMark ?? DEFAULT_SOCKET_HIGH_WATER_MARK;
  const maxPacketBytes = options.maxPacketBytes ?? DEFAULT_MAX_PACKET_BYTES;
  const onSocket = (socket: Socket): void => {
    // See src/mqtt/tcp-nodelay.ts: without it a QoS 1 request/reply costs ~88 ms instead of <1 ms.
    socket.setNoDelay(true);
    // Before aedes reads anything: its parser would buffer an oversized body whole.
    guardPacketSize(socket, maxPacketBytes, (violation) => {
      log({
        type: 'oversizePacket',
        clientId: (socket as Socket & { client?: Client }).client?.id ?? undefined,
        remoteAddress: socket.remoteAddress,
        packetBytes: violation.kind === 'oversize' ? violation.packetBytes : undefined,
        maxPacketBytes,
      });
    });
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    aedes.handle(socket);
  };
  const tls = options.tls;
  const server: Server =
    tls === undefined
      ? createServer({ highWaterMark }, onSocket)
      : createTlsServer(
          {
            cert: tls.cert,
            key: tls.key,
            ...(tls.ca === undefined ? {} : { ca: tls.ca, requestCert: true }),
            // A client without a certificate may still log in with a password; one whose
            // certificate does not verify is not trusted by it (broker-auth.ts reads `authorized`).
            rejectUnauthorized: false,
            highWaterMark,
          },
          onSocket,
        );
  // Raw TCP errors before the TLS handshake completes (a port scanner, a plain-MQTT client).
  server.on('tlsClientError', (error: Error, socket: Socket) => {
    log({ type: 'connectionError', remoteAddress: socket.remoteAddress, error });
  });

  let port: number;
  try {
    port = await listen(server, host, requestedPort);
  } catch (error) {
    await closeAedes(aedes);
    const errno = error as NodeJS.ErrnoException;
    throw new ServiceUnavailableError(
      `cannot listen on ${formatHostPort(host, requestedPort)}: ${errno.code ?? 'error'} ${errno.message}`,
      { cause: error },
    );
  }
  server.on('error', (error) => {
    log({ type: 'brokerError', error });
  });

  let closing: Promise<void> | undefined;
  return {
    aedes,
    server,
    host,
    port,
    url: `${tls === undefined ? 'mqtt' : 'mqtts'}://${formatHostPort(clientHost(host), port)}`,
    stats: () => ({ connectedClients: aedes.connectedClients, droppedQos0: shedder.dropped }),
    interceptPublishes: (next) => {
      interceptor = next;
    },
    close: () => {
      closing ??= (async () => {
        const serverClosed = new Promise<void>((resolve) => {
          // Stops accepting now; the callback waits for every accepted connection to close.
          server.close(() => resolve());
        });
        await closeAedes(aedes);
        for (const socket of sockets) socket.destroy();
        await serverClosed;
      })();
      return closing;
    },
  };
}

function listen(server: Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error): void => {
      reject(error);
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      const address = server.address();
      if (address === null || typeof address === 'string') {
        reject(new Error(`unexpected server address ${String(address)}`));
        return;
      }
      resolve(address.port);
    });
  });
}

function closeAedes(aedes: Aedes): Promise<void> {
  return new Promise((resolve) => {
    aedes.close(() => resolve());
  });
}

function remoteAddressOf(client: Client | undefined): string | undefined {
  const conn = client?.conn as Partial<Socket> | undefined;
  return conn?.remoteAddress;
}

/** Clients cannot connect to an unspecified address portably; use the matching loopback. */
function clientHost(host: string): string {
  if (host === '0.0.0.0' || host === '') return '127.0.0.1';
  if (host === '::') return '::1';
  return host;
}

function formatHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
