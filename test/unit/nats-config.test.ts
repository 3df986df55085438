/**
 * The authorization block `edgefc broker-config nats` writes (gateway/security/nats-config.ts):
 * least privilege per login, MQTT-only devices, a native-only gateway, bcrypt hashes only.
 */
import { describe, expect, test } from 'vitest';
import { natsConfig, type NatsConfigInput } from '../../gateway/security/nats-config.js';
import { codeOf } from '../fixtures/error-code.js';

const HASH = `$2a$06$${'a'.repeat(53)}`;

function input(overrides: Partial<NatsConfigInput> = {}): NatsConfigInput {
  return {
    principals: [
      { name: 'sensor-1', role: 'device', password: '$7$x', natsPassword: HASH, certificate: false, groups: [], publish: ['factory/+/temp'], subscribe: ['alerts/#'] },
      { name: 'plc-7', role: 'device', certificate: true, groups: [], publish: [], subscribe: [] },
    ],
    gateway: { name: 'edgefc_gateway', bcryptHash: HASH },
    functions: [{ name: 'fn-abc', function: 'EdgeFC/echo', bcryptHash: HASH }],
    triggerFilters: ['factory/+/temp'],
    destinationTopics: ['results/done'],
    ...overrides,
  };
}

interface User {
  user: string;
  password: string;
  permissions: { publish: { allow: string[]; deny?: string[] }; subscribe: { allow: string[]; deny?: string[] } };
  allowed_connection_types: string[];
}

function users(text: string): User[] {
  const json = text.slice(text.indexOf('authorization ') + 'authorization '.length);
  return (JSON.parse(json) as { users: User[] }).users;
}

describe('natsConfig', () => {
  test('a device publishes its own request topics and grants, reads its reply topic, over MQTT only', () => {
    const device = users(natsConfig(input()).authorization).find((user) => user.user === 'sensor-1');
    expect(device?.password).toBe(HASH);
    expect(device?.allowed_connection_types).toEqual(['MQTT']);
    expect(device?.permissions.publish.allow).toEqual(['edgefc.v1.invoke.sensor-1.*.*', 'edgefc.v1.status.sensor-1', 'edgefc.v1.admin.sensor-1.*', 'factory.*.temp']);
    expect(device?.permissions.subscribe.allow).toEqual(['edgefc.v1.reply.sensor-1', 'edgefc.v1.reply.sensor-1.>', 'alerts', 'alerts.>', '$MQTT.sub.>']);
  });

  test('the gateway reads every request subject and its triggers, writes replies and destinations, natively only', () => {
    const gateway = users(natsConfig(input()).authorization).find((user) => user.user === 'edgefc_gateway');
    expect(gateway?.allowed_connection_types).toEqual(['STANDARD']);
    expect(gateway?.permissions.subscribe.allow).toEqual(expect.arrayContaining(['edgefc.v1.invoke.*.*.*', 'edgefc.v1.admin.*.*', 'edgefc.v1.status.*', 'factory.*.temp']));
    expect(gateway?.permissions.publish.allow).toEqual(expect.arrayContaining(['edgefc.v1.reply.>', 'results.done']));
    // The gateways' announcements (§9.16): the gateway login's alone, never $SYS (the servers' statistics).
    expect(gateway?.permissions.publish.allow).toContain('edgefc.v1.cluster.gateways');
    expect(gateway?.permissions.subscribe.allow).toContain('edgefc.v1.cluster.gateways');
    const all = users(natsConfig(input()).authorization);
    for (const user of all.filter((u) => u.user !== 'edgefc_gateway')) {
      expect([...user.permissions.publish.allow, ...user.permissions.subscribe.allow].some((subject) => subject.startsWith('edgefc.v1.cluster') || subject === '>' || subject.startsWith('$SYS'))).toBe(false);
    }
    expect(JSON.stringify(all)).not.toContain('$SYS');
  });

  test('devices and functions are denied the cluster\'s state (JetStream API, KV, object store) both ways, whatever they are granted', () => {
    const wide = input({ principals: [{ name: 'sensor-1', role: 'device', password: '$7$x', natsPassword: HASH, certificate: false, groups: [], publish: ['a/+/+'], subscribe: ['a/#'] }] });
    for (const user of users(natsConfig(wide).authorization).filter((u) => u.user !== 'edgefc_gateway')) {
      for (const direction of [user.permissions.publish, user.permissions.subscribe]) {
        expect(direction.deny, user.user).toEqual(['$JS.>', '$KV.>', '$O.>', 'edgefc_async.>', 'edgefc.v1.cluster.gateways']);
        expect(direction.allow.filter((subject) => subject.startsWith('$') && subject !== '$MQTT.sub.>'), user.user).toEqual([]);
      }
    }
  });

  test('devices and functions are denied the cluster\'s durable state, even with a "#" grant; only the gateway has it', () => {
    const all = users(natsConfig(input({
      principals: [{ name: 'wide', role: 'device', natsPassword: HASH, certificate: false, groups: [], publish: ['#'], subscribe: ['#'] }],
    })).authorization);
    const state = ['$JS.>', '$KV.>', '$O.>', 'edgefc_async.>', 'edgefc.v1.cluster.gateways'];
    for (const user of all.filter((u) => u.user !== 'edgefc_gateway')) {
      expect(user.permissions.publish.deny, user.user).toEqual(expect.arrayContaining(state));
      expect(user.permissions.subscribe.deny, user.user).toEqual(expect.arrayContaining(state));
    }
    // The "#" grant is ">": without the deny list it would reach the Async stream's subjects.
    expect(all.find((u) => u.user === 'wide')?.permissions.publish.allow).toContain('>');
    const gateway = all.find((u) => u.user === 'edgefc_gateway');
    expect(gateway?.permissions.publish.allow).toEqual(expect.arrayContaining(['$JS.API.>', '$JS.ACK.>', '$KV.>', 'edgefc_async.>']));
    expect(gateway?.permissions.subscribe.allow).toEqual(expect.arrayContaining(['edgefc_async.>']));
    expect(gateway?.permissions.publish.deny).toBeUndefined();
  });

  test('a principal without a NATS hash gets no login, and a note says how to give it one', () => {
    const files = natsConfig(input());
    expect(users(files.authorization).map((user) => user.user)).toEqual(['sensor-1', 'fn-abc', 'edgefc_gateway']);
    expect(files.notes.join('\n')).toMatch(/plc-7/);
    expect(files.authorization).not.toMatch(/\$7\$/);
  });

  test('a trigger NATS cannot carry, or a clash of login names, is refused with InvalidArgument', () => {
    expect(codeOf(() => natsConfig(input({ triggerFilters: ['factory/line.3/temp'] })))).toBe('InvalidArgument');
    expect(codeOf(() => natsConfig(input({ gateway: { name: 'sensor-1', bcryptHash: HASH } })))).toBe('InvalidArgument');
  });
});
