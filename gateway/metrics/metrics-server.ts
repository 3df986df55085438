/**
 * The health and metrics endpoint (`edgefc start --metrics HOST:PORT`, docs/security.md §9):
 *
 * - `GET /healthz`: 200 `ok` while the process serves HTTP. No token: it tells nothing but that.
 * - `GET /readyz`: 200 `ready` or 503 `not ready`; with the token, the reasons (broker, store,
 *   template) as JSON. Without it, only the status line: readiness is for load balancers and
 *   orchestrators that may hold no secret, the reasons are for operators.
 * - `GET /metrics`: Prometheus text format, bearer token required (401 without it).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { bearerMatches } from './metrics-token.js';

export interface Readiness {
  broker: boolean;
  store: boolean;
  template: boolean;
}

export interface MetricsServerOptions {
  host: string;
  port: number;
  token: string;
  registry: Registry;
  readiness: () => Readiness;
}

export interface MetricsServer {
  readonly url: string;
  close(): Promise<void>;
}

export async function startMetricsServer(options: MetricsServerOptions): Promise<MetricsServer> {
  const { token, registry, readiness } = options;
  const send = (res: ServerResponse, status: number, body: string, type = 'text/plain; charset=utf-8'): void => {
    res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
    res.end(body);
  };
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'method not allowed\n');
    const authorized = bearerMatches(req.headers.authorization, token);
    switch (path) {
      case '/healthz':
        return send(res, 200, 'ok\n');
      case '/readyz': {
        const state = readiness();
        const ready = state.broker && state.store && state.template;
        if (!authorized) return send(res, ready ? 200 : 503, ready ? 'ready\n' : 'not ready\n');
        const reasons = Object.entries(state).filter(([, ok]) => !ok).map(([part]) => `${part} not ready`);
        return send(res, ready ? 200 : 503, `${JSON.stringify({ ready, ...state, reasons })}\n`, 'application/json');
      }
      case '/metrics':
        if (!authorized) {
          res.setHeader('www-authenticate', 'Bearer realm="edgefc"');
          return send(res, 401, 'unauthorized: send "Authorization: Bearer <data>/metrics.token"\n');
        }
        return send(res, 200, await registry.metrics(), registry.contentType);
      default:
        return send(res, 404, 'not found\n');
    }
  };
  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => send(res, 500, `${error instanceof Error ? error.message : String(error)}\n`));
  });
  // Scrapes are short; an idle keep-alive connection must not hold stop() up.
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
