/**
 * Bench worker: one gateway (Gateway.start, as `edgefc start` runs it) in its own process, so
 * its CPU time and RSS are its own, and the bench can run it under --cpu-prof.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Gateway } from '../../gateway/gateway.js';
import { createStreamLogger } from '../../gateway/logging/logger.js';
import { serve } from '../lib/ipc.js';
import { childrenUsage } from '../lib/proc.js';

export interface GatewayStartArgs {
  templatePath: string;
  /** External broker; absent: the embedded broker on a free port. */
  brokerUrl?: string;
  /**
   * Authentication on (docs/security.md), as a user deploys it: this data directory holds the
   * access file (bench-logins.ts) and, on Mosquitto, `brokerLogin` is what broker-config wrote
   * for the gateway. Absent: `--insecure`, in a data directory of its own.
   */
  secured?: { dataDir: string; brokerLogin?: { username: string; password: string } };
  /** The embedded broker serves mqtts with this certificate and key (PEM). */
  tls?: { cert: string; key: string };
  /** Serve /metrics on a free loopback port, as `edgefc start` does by default (on 9464). */
  metrics?: boolean;
}

export interface GatewayStarted {
  url: string;
  pid: number;
  startMs: number;
}

export interface GatewayUsage {
  /** process.cpuUsage() user + system, µs. */
  cpuUs: number;
  rssBytes: number;
  heapUsedBytes: number;
  /** The function processes (the gateway's direct children), from /proc. */
  children: { cpuUs: number; rssBytes: number; count: number };
}

let gateway: Gateway | undefined;
/** Each gateway its own data directory: two gateways opening one store at once collide (UNIQUE meta.key). */
const ownDataDir = mkdtempSync(join(tmpdir(), 'edgefc-bench-gateway-'));
process.once('exit', () => rmSync(ownDataDir, { recursive: true, force: true }));

serve({
  start: async (args: GatewayStartArgs): Promise<GatewayStarted> => {
    const started = performance.now();
    gateway = await Gateway.start({
      templatePath: args.templatePath,
      logger: createStreamLogger({ level: 'warn' }),
      ...(args.secured === undefined ? { dataDir: ownDataDir, insecure: true } : { dataDir: args.secured.dataDir, ...args.secured.brokerLogin }),
      ...(args.brokerUrl === undefined ? { port: 0 } : { brokerUrl: args.brokerUrl }),
      ...(args.tls === undefined ? {} : { tls: { cert: Buffer.from(args.tls.cert), key: Buffer.from(args.tls.key) } }),
      ...(args.metrics === true ? { metrics: { host: '127.0.0.1', port: 0 } } : {}),
    });
    return { url: gateway.brokerUrl, pid: process.pid, startMs: performance.now() - started };
  },
  usage: (): GatewayUsage => {
    const cpu = process.cpuUsage();
    const memory = process.memoryUsage();
    return {
      cpuUs: cpu.user + cpu.system,
      rssBytes: memory.rss,
      heapUsedBytes: memory.heapUsed,
      children: childrenUsage(process.pid),
    };
  },
  /** Let start-up garbage go (GC when --expose-gc), then report usage: "idle" RSS. */
  settle: async (args: { ms: number }): Promise<void> => {
    await new Promise((resolve) => setTimeout(resolve, args.ms));
    const gc = (globalThis as { gc?: () => void }).gc;
    gc?.();
    await new Promise((resolve) => setTimeout(resolve, 50));
  },
  stop: async (): Promise<void> => {
    await gateway?.stop();
    gateway = undefined;
  },
});
