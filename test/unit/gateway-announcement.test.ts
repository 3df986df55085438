/**
 * A gateway's announcement comes from the wire (docs/protocol.md §9.16): believed whole or not
 * at all (gateway/cluster/gateway-announcement.ts).
 */
import { describe, expect, test } from 'vitest';
import { parseAnnouncement, type GatewayAnnouncement } from '../../gateway/cluster/gateway-announcement.js';

const valid: GatewayAnnouncement = {
  id: 'QJHp6BzmxYzI',
  host: 'box1',
  pid: 9379,
  version: '0.1.0',
  mode: 'nats',
  startedAt: 1_700_000_000_000,
  at: 1_700_000_007_000,
  uptimeMs: 7_000,
  natsServer: 'edge-1',
  ttlMs: 6_000,
  load: { callsInFlight: 3, callsPerSecond: 120.5, instances: 2, rssBytes: 90_000_000, eventLoopDelayMs: 1.25 },
};
const bytes = (value: unknown): Uint8Array => Buffer.from(JSON.stringify(value));

describe('parseAnnouncement', () => {
  test('a complete announcement is taken as it is, leaving only when true', () => {
    expect(parseAnnouncement(bytes(valid))).toEqual(valid);
    expect(parseAnnouncement(bytes({ ...valid, leaving: true }))?.leaving).toBe(true);
    expect(parseAnnouncement(bytes({ ...valid, leaving: 'yes' }))).not.toHaveProperty('leaving');
    const { natsServer: _server, ...withoutServer } = valid;
    expect(parseAnnouncement(bytes(withoutServer))).toEqual(withoutServer);
  });

  test('anything missing, of the wrong type or out of range is ignored whole', () => {
    const broken: unknown[] = [
      'not json',
      [],
      null,
      { ...valid, id: '' },
      { ...valid, id: 'x'.repeat(65) },
      { ...valid, pid: -1 },
      { ...valid, mode: 'cluster' },
      { ...valid, ttlMs: Number.POSITIVE_INFINITY },
      { ...valid, natsServer: 7 },
      { ...valid, load: { ...valid.load, rssBytes: '90MB' } },
      { ...valid, load: undefined },
    ];
    for (const value of broken) expect(parseAnnouncement(typeof value === 'string' ? Buffer.from(value) : bytes(value)), JSON.stringify(value)).toBeUndefined();
  });
});
