/**
 * The access file kept in a cluster (gateway/cluster/cluster-access.ts, docs/security.md §11),
 * on a real one-node nats-server with JetStream: the first gateway's file seeds the cluster, any
 * other gateway's file is replaced by the cluster's copy (0600); a file edited while its gateway
 * was down is published at the next start; edited on both sides, the cluster's wins and the
 * local one is saved aside; while running, an edit on one box reaches the other; a copy that
 * does not parse is neither published nor written.
 */
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { startNatsCluster, type NatsCluster } from '../../bench/lib/nats-cluster.js';
import { ACCESS_KEY, ClusterAccess } from '../../gateway/cluster/cluster-access.js';
import { openClusterBuckets, type ClusterBuckets } from '../../gateway/cluster/cluster-buckets.js';
import type { Logger } from '../../gateway/logging/logger.js';
import { formatAccessFile } from '../../gateway/security/access-file.js';
import { writeSecretFile } from '../../gateway/security/private-file.js';
import { requireNatsServer } from '../fixtures/nats-cluster.js';
import { traversableTempDir } from '../fixtures/temp-dirs.js';

let cluster: NatsCluster;
let nc: NatsConnection;
let buckets: ClusterBuckets;
let dir: string;
const open: ClusterAccess[] = [];

beforeAll(async () => {
  cluster = await startNatsCluster(requireNatsServer(), { size: 1, authorization: '# no users: the access file alone is under test\n' });
  nc = await connect({ servers: cluster.natsUrls });
  buckets = await openClusterBuckets(nc);
  dir = await traversableTempDir('edgefc-cluster-access-');
}, 60_000);

afterEach(async () => {
  for (const access of open.splice(0)) access.close();
  await buckets.access.purge(ACCESS_KEY);
});

afterAll(async () => {
  await nc?.close();
  await cluster?.close();
});

interface Box {
  file: string;
  dataDir: string;
  lines: string[];
  logger: Logger;
}

let boxes = 0;
function box(): Box {
  boxes += 1;
  const lines: string[] = [];
  const line = (message: string): void => void lines.push(message);
  return { file: join(dir, `access-${boxes}.yml`), dataDir: join(dir, `data-${boxes}`), lines, logger: { debug: line, info: line, warn: line, error: line, functionLine: line } };
}

/** An access file listing these devices (certificate logins: no hash to make). */
function accessText(...names: string[]): string {
  return formatAccessFile(names.map((name) => ({ name, role: 'device' as const, certificate: true, groups: [], publish: [], subscribe: [] })));
}

async function start(b: Box): Promise<ClusterAccess> {
  const access = await ClusterAccess.open(buckets.access, { accessFile: b.file, dataDir: b.dataDir, logger: b.logger });
  open.push(access);
  return access;
}

async function clusterText(): Promise<string | undefined> {
  return (await buckets.access.get(ACCESS_KEY))?.json<{ text: string }>().text;
}

describe('the access file in a cluster', () => {
  test('the buckets of a single node are R1', () => {
    expect(buckets.replicas).toBe(1);
  });

  test('the first gateway\'s file seeds the cluster; another gateway\'s own file is replaced by the cluster\'s, 0600', async () => {
    const [a, b] = [box(), box()];
    await writeSecretFile(a.file, accessText('sensor-1'));
    await writeSecretFile(b.file, accessText('sensor-2'));
    await start(a);
    expect(await clusterText()).toBe(accessText('sensor-1'));
    expect(a.lines).toContain('the cluster had no access file: this gateway\'s is its first');
    await start(b);
    expect(await readFile(b.file, 'utf8')).toBe(accessText('sensor-1'));
    expect((await stat(b.file)).mode & 0o777).toBe(0o600);
    expect(b.lines).toContain('the cluster\'s access file replaces this gateway\'s (the cluster\'s copy is authoritative)');
  });

  test('edited while its gateway was down: published at the next start; edited on both sides: the cluster\'s wins, the local one is saved aside', async () => {
    const [a, b] = [box(), box()];
    await writeSecretFile(a.file, accessText('sensor-1'));
    (await start(a)).close();
    (await start(b)).close();
    // Both gateways down; `edgefc users add` on each box.
    await writeSecretFile(a.file, accessText('sensor-1', 'sensor-3'));
    await writeSecretFile(b.file, accessText('sensor-1', 'sensor-4'));
    await start(a);
    expect(await clusterText()).toBe(accessText('sensor-1', 'sensor-3'));
    await start(b);
    expect(await readFile(b.file, 'utf8')).toBe(accessText('sensor-1', 'sensor-3'));
    const aside = (await readdir(dir)).filter((name) => name.startsWith(`${b.file.split('/').at(-1) ?? ''}.conflict-`));
    expect(aside).toHaveLength(1);
    expect(await readFile(join(dir, aside[0] ?? ''), 'utf8')).toBe(accessText('sensor-1', 'sensor-4'));
    expect((await stat(join(dir, aside[0] ?? ''))).mode & 0o777).toBe(0o600);
  });

  test('while both run, an edit on one box reaches the other; a copy that does not parse goes nowhere', async () => {
    const [a, b] = [box(), box()];
    await writeSecretFile(a.file, accessText('sensor-1'));
    const [accessA, accessB] = [await start(a), await start(b)];
    accessA.follow();
    accessB.follow();
    await writeSecretFile(a.file, accessText('sensor-1', 'sensor-5'));
    await expect.poll(() => readFile(b.file, 'utf8'), { timeout: 10_000 }).toBe(accessText('sensor-1', 'sensor-5'));
    await writeFile(a.file, 'version: 1\nprincipals: [not, a, mapping]\n');
    await expect.poll(() => a.lines.some((line) => line.includes('does not parse')), { timeout: 10_000 }).toBe(true);
    expect(await clusterText()).toBe(accessText('sensor-1', 'sensor-5'));
    expect(await readFile(b.file, 'utf8')).toBe(accessText('sensor-1', 'sensor-5'));
  });
});
