/**
 * One HTTP request from the gateway to a function's server on loopback, through the
 * instance's keep-alive Agent (one hop per call, no connect per call), with the answer's body
 * capped. Typed errors are the caller's job: this reports what happened, not what it means.
 */
import http from 'node:http';
import { LOOPBACK } from '../process/loopback-port.js';

export interface HttpAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** Why an exchange failed: `tooLarge` (the answer passed maxBodyBytes) or `connection` (it failed or closed before a whole answer came: server crashed, reset). */
export class ExchangeFailure extends Error {
  readonly kind: 'tooLarge' | 'connection';
  readonly limit: number;

  constructor(kind: 'tooLarge' | 'connection', message: string, limit = 0, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.kind = kind;
    this.limit = limit;
  }
}

const tooLarge = (limit: number): ExchangeFailure => new ExchangeFailure('tooLarge', `the answer is over ${limit} bytes`, limit);
const connectionLost = (error: Error): ExchangeFailure => new ExchangeFailure('connection', error.message, 0, error);

export interface ExchangeRequest {
  port: number;
  /** A Unix socket to connect to instead of LOOPBACK:port (an instance in its own network namespace, net-namespace.ts). */
  socketPath?: string;
  agent: http.Agent;
  method: 'GET' | 'POST';
  path: string;
  headers: Record<string, string>;
  body?: Buffer;
  /** Largest body accepted; a longer answer is cut off and reported as tooLarge. */
  maxBodyBytes: number;
}

export interface Exchange {
  /** Resolves with the answer; rejects with an ExchangeFailure. Never settles after abort(). */
  promise: Promise<HttpAnswer>;
  /** Drop the request and its connection (timeout, stop). */
  abort(): void;
}

export function exchange(request: ExchangeRequest): Exchange {
  let current: http.ClientRequest | undefined;
  let aborted = false;
  const promise = new Promise<HttpAnswer>((resolve, reject) => {
    const send = (mayRetry: boolean): void => {
      const body = request.body ?? Buffer.alloc(0);
      const req = http.request({
        ...(request.socketPath === undefined ? { host: LOOPBACK, port: request.port } : { socketPath: request.socketPath }),
        method: request.method,
        path: request.path,
        agent: request.agent,
        headers: {
          ...request.headers,
          ...(request.method === 'POST'
            ? { 'content-type': 'application/octet-stream', 'content-length': String(body.length) }
            : {}),
        },
      });
      current = req;
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > request.maxBodyBytes) {
            req.destroy();
            if (!aborted) reject(tooLarge(request.maxBodyBytes));
            return;
          }
          chunks.push(chunk);
        });
        res.on('end', () => {
          if (!aborted && size <= request.maxBodyBytes) {
            resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks, size) });
          }
        });
        res.on('error', (error) => {
          if (!aborted) reject(connectionLost(error));
        });
      });
      req.on('error', (error: NodeJS.ErrnoException) => {
        if (aborted) return;
        // A kept-alive socket the server closed while idle (Node's default keepAliveTimeout is
        // 5 s) fails on first write: the request never reached the server, so sending it again
        // on a fresh connection cannot run the function twice (Node's documented pattern).
        if (mayRetry && req.reusedSocket && error.code === 'ECONNRESET') {
          send(false);
          return;
        }
        reject(connectionLost(error));
      });
      req.end(body);
    };
    send(true);
  });
  return {
    promise,
    abort: () => {
      aborted = true;
      current?.destroy();
    },
  };
}

export function isExchangeFailure(value: unknown): value is ExchangeFailure {
  return value instanceof ExchangeFailure;
}
