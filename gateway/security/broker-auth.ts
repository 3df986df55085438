/**
 * The embedded broker's side of access control (docs/security.md §3): aedes's `authenticate`,
 * `authorizePublish` and `authorizeSubscribe` hooks, driven by AccessControl.
 *
 * - CONNECT: refused (CONNACK 2, 4 or 5) unless the credentials name a principal and the client
 *   ID is that principal's; a client certificate counts only when the TLS listener verified it.
 * - PUBLISH to a topic the principal may not publish to: the connection is closed (MQTT 3.1.1 has
 *   no way to refuse one PUBLISH; aedes drops the client on a hook error).
 * - SUBSCRIBE to a filter it may not read: that filter's SUBACK is 0x80 (failure) [MQTT-3.9.3].
 */
import type { TLSSocket } from 'node:tls';
import type { Client, PublishPacket, Subscription } from 'aedes';
import type { AccessControl } from './access-control.js';
import { ConnackCode, ConnectRefused } from './access-control.js';
import type { Principal } from './principal.js';

export interface BrokerAuthEvents {
  /** A CONNECT was refused; never carries the password. */
  refused: (event: { clientId: string; username: string | undefined; remoteAddress: string | undefined; reason: string }) => void;
  /** A client published or subscribed outside its grants. */
  denied: (event: { clientId: string; principal: string; action: 'publish' | 'subscribe'; topic: string }) => void;
}

export interface BrokerAuthOptions {
  /**
   * Connections one principal may hold at once; past it a CONNECT is refused (return code 5).
   * 64: a function instance holds one per FCClient, an operator one per CLI command.
   * @default 64
   */
  maxConnectionsPerPrincipal?: number;
}

export interface BrokerAuth {
  authenticate(client: Client, username: string | undefined, password: Buffer | undefined, done: (error: Error | null, ok: boolean) => void): void;
  /** Undefined when `client`'s publish is allowed, else the reason. */
  publishDenial(client: Client, packet: PublishPacket): string | undefined;
  authorizeSubscribe(client: Client, subscription: Subscription, done: (error: Error | null, subscription?: Subscription | null) => void): void;
  /** Close every connection of `principal` (its credential was revoked). */
  disconnect(principal: string): void;
  /** Forget a closed client. */
  forget(client: Client): void;
}

export function createBrokerAuth(access: AccessControl, events: Partial<BrokerAuthEvents> = {}, options: BrokerAuthOptions = {}): BrokerAuth {
  const principals = new WeakMap<Client, Principal>();
  const connections = new Map<string, Set<Client>>();
  const maxConnections = options.maxConnectionsPerPrincipal ?? 64;

  return {
    authenticate(client, username, password, done) {
      const certificateName = verifiedCertificateName(client);
      access.authenticate({ clientId: client.id, username, password, certificateName }).then(
        (principal) => {
          const held = connections.get(principal.name) ?? new Set<Client>();
          // A reconnect with the same client ID replaces its old connection: it does not count twice.
          const others = [...held].filter((other) => other.id !== client.id);
          if (others.length >= maxConnections) {
            refuse(new ConnectRefused(ConnackCode.notAuthorized, `"${principal.name}" already holds ${maxConnections} connections`));
            return;
          }
          held.add(client);
          connections.set(principal.name, held);
          principals.set(client, principal);
          done(null, true);
        },
        (error: unknown) => refuse(error instanceof ConnectRefused ? error : new ConnectRefused(ConnackCode.notAuthorized, String(error))),
      );
      function refuse(error: ConnectRefused): void {
        events.refused?.({ clientId: client.id, username, remoteAddress: remoteAddressOf(client), reason: error.message });
        done(error, false);
      }
    },

    publishDenial(client, packet) {
      const principal = principals.get(client);
      if (principal === undefined) return 'not authenticated';
      if (access.canPublish(principal, packet.topic)) return undefined;
      events.denied?.({ clientId: client.id, principal: principal.name, action: 'publish', topic: packet.topic });
      return `"${principal.name}" may not publish to ${packet.topic}`;
    },

    authorizeSubscribe(client, subscription, done) {
      const principal = principals.get(client);
      if (principal !== undefined && access.canSubscribe(principal, subscription.topic)) {
        done(null, subscription);
        return;
      }
      events.denied?.({ clientId: client.id, principal: principal?.name ?? '', action: 'subscribe', topic: subscription.topic });
      done(null, null);
    },

    disconnect(name) {
      for (const client of connections.get(name) ?? []) client.close();
      connections.delete(name);
    },

    forget(client) {
      const principal = principals.get(client);
      if (principal === undefined) return;
      const held = connections.get(principal.name);
      held?.delete(client);
      if (held?.size === 0) connections.delete(principal.name);
    },
  };
}

/** The subject CN of a client certificate the TLS listener verified against its CA; else undefined. */
function verifiedCertificateName(client: Client): string | undefined {
  const socket = client.conn as Partial<TLSSocket> | undefined;
  if (socket?.authorized !== true || typeof socket.getPeerCertificate !== 'function') return undefined;
  const cn = socket.getPeerCertificate().subject?.CN;
  return typeof cn === 'string' ? cn : Array.isArray(cn) ? cn[0] : undefined;
}

function remoteAddressOf(client: Client): string | undefined {
  return (client.conn as { remoteAddress?: string } | undefined)?.remoteAddress;
}
