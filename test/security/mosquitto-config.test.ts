/**
 * gateway/security/mosquitto-config.ts, line by line: what each login may do on Mosquitto, and
 * that no line grants one login another's topics.
 */
import { describe, expect, test } from 'vitest';
import { ErrorCode } from '../../src/index.js';
import { topicMatches } from '../../src/protocol/topic-filter.js';
import type { AccessEntry } from '../../gateway/security/access-file.js';
import { mosquittoConfig, type MosquittoConfigInput } from '../../gateway/security/mosquitto-config.js';

const HASH = `$7$1000$${Buffer.alloc(12, 1).toString('base64')}$${Buffer.alloc(64, 2).toString('base64')}`;

function entry(name: string, fields: Partial<AccessEntry> = {}): AccessEntry {
  return { name, role: 'device', certificate: false, groups: [], publish: [], subscribe: [], password: HASH, ...fields };
}

function input(overrides: Partial<MosquittoConfigInput> = {}): MosquittoConfigInput {
  return {
    principals: [
      entry('sensor-1', { groups: ['line-3'], publish: ['factory/+/temp'], subscribe: ['factory/alerts'] }),
      entry('alice', { role: 'operator' }),
    ],
    gateway: { name: 'edgefc_gateway', passwordHash: HASH },
    functions: [{ name: 'fn-0123456789abcdef', function: 'EdgeFC/invoker', passwordHash: HASH }],
    triggerFilters: ['factory/+/temp'],
    destinationTopics: ['results/ingest'],
    passwordFile: '/etc/mosquitto/conf.d/passwords',
    aclFile: '/etc/mosquitto/conf.d/acl',
    listener: { host: '0.0.0.0', port: 1883 },
    ...overrides,
  };
}

/** `user` → its `topic` lines, as Mosquitto reads them (comments skipped). */
function parseAcl(text: string): Map<string, string[]> {
  const users = new Map<string, string[]>();
  let current: string[] | undefined;
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || line === '') continue;
    const [keyword, ...rest] = line.split(' ');
    if (keyword === 'user') users.set(rest.join(' '), (current = []));
    else if (keyword === 'topic' && current !== undefined) current.push(rest.join(' '));
    else throw new Error(`unexpected ACL line: ${line}`);
  }
  return users;
}

function errorCode(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return (error as { code?: string }).code;
  }
  return undefined;
}

describe('the ACL', () => {
  const acl = parseAcl(mosquittoConfig(input()).acl);

  test('a device writes its own invoke, status and admin topics and its grants; reads its reply topic and its grants', () => {
    expect(acl.get('sensor-1')).toEqual([
      'write edgefc/v1/invoke/sensor-1/+/+',
      'write edgefc/v1/status/sensor-1',
      'write edgefc/v1/admin/sensor-1/+',
      'read edgefc/v1/reply/sensor-1/#',
      'write factory/+/temp',
      'read factory/alerts',
    ]);
  });

  test('an operator has the same topic address rules (the gateway checks the role), a function writes the triggers', () => {
    expect(acl.get('alice')).toEqual([
      'write edgefc/v1/invoke/alice/+/+',
      'write edgefc/v1/status/alice',
      'write edgefc/v1/admin/alice/+',
      'read edgefc/v1/reply/alice/#',
    ]);
    expect(acl.get('fn-0123456789abcdef')).toEqual([
      'write edgefc/v1/invoke/fn-0123456789abcdef/+/+',
      'write edgefc/v1/status/fn-0123456789abcdef',
      'write edgefc/v1/admin/fn-0123456789abcdef/+',
      'read edgefc/v1/reply/fn-0123456789abcdef/#',
      'write factory/+/temp',
    ]);
  });

  test('the gateway reads every request topic and its triggers, writes every reply topic and its destinations', () => {
    expect(acl.get('edgefc_gateway')).toEqual([
      'read edgefc/v1/invoke/+/+/+',
      'read edgefc/v1/admin/+/+',
      'read edgefc/v1/status/+',
      'write edgefc/v1/reply/#',
      'read factory/+/temp',
      'write results/ingest',
    ]);
  });

  test('no pattern lines, and no login is granted another principal\'s topics', () => {
    const text = mosquittoConfig(input()).acl;
    expect(text).not.toMatch(/^pattern/m);
    const names = ['sensor-1', 'alice', 'fn-0123456789abcdef'];
    for (const [user, lines] of acl) {
      if (user === 'edgefc_gateway') continue;
      for (const other of names.filter((name) => name !== user)) {
        const foreign = [`edgefc/v1/invoke/${other}/S/F`, `edgefc/v1/reply/${other}`, `edgefc/v1/reply/${other}/x`, `edgefc/v1/admin/${other}/deploy`, `edgefc/v1/status/${other}`];
        for (const line of lines) {
          const filter = line.split(' ')[1] ?? '';
          expect(foreign.filter((topic) => topicMatches(filter, topic)), `${user}: ${line}`).toEqual([]);
        }
      }
      // Nobody but the gateway reads requests or writes replies.
      for (const line of lines) {
        const [access, filter = ''] = line.split(' ');
        if (access === 'read') expect(topicMatches(filter, 'edgefc/v1/invoke/x/S/F')).toBe(false);
        if (access === 'write') expect(topicMatches(filter, `edgefc/v1/reply/${user}`)).toBe(false);
      }
    }
  });
});

describe('the password file', () => {
  test('one name:hash line per login with a password, the gateway and functions included', () => {
    const lines = mosquittoConfig(input()).passwords.trimEnd().split('\n');
    expect(lines.map((line) => line.split(':')[0])).toEqual(['sensor-1', 'alice', 'fn-0123456789abcdef', 'edgefc_gateway']);
    expect(lines.every((line) => line.endsWith(`:${HASH}`))).toBe(true);
  });

  test('a certificate-only principal has ACL lines but no password line, and a note until a TLS listener is given', () => {
    const plc = entry('plc-7', { certificate: true });
    delete plc.password;
    const files = mosquittoConfig(input({ principals: [plc] }));
    expect(files.passwords).not.toContain('plc-7');
    expect(parseAcl(files.acl).get('plc-7')).toContain('read edgefc/v1/reply/plc-7/#');
    expect(files.notes.join('\n')).toContain('plc-7');
    const tls = { host: '0.0.0.0', port: 8883, cafile: '/etc/ca.pem', certfile: '/etc/server.pem', keyfile: '/etc/server.key' };
    const withTls = mosquittoConfig(input({ principals: [plc], tls }));
    expect(withTls.notes).toEqual([]);
    expect(withTls.config).toContain('listener 8883 0.0.0.0\ncafile /etc/ca.pem\ncertfile /etc/server.pem\nkeyfile /etc/server.key\nrequire_certificate true\nuse_identity_as_username true\n');
  });
});

test('the config snippet: no anonymous logins, the two files, TCP_NODELAY, a deep queue, a packet cap, the listener', () => {
  const config = mosquittoConfig(input()).config.split('\n').filter((line) => !line.startsWith('#'));
  expect(config).toEqual([
    'allow_anonymous false',
    'password_file /etc/mosquitto/conf.d/passwords',
    'acl_file /etc/mosquitto/conf.d/acl',
    'set_tcp_nodelay true',
    'max_queued_messages 10000',
    'max_packet_size 7340032',
    'listener 1883 0.0.0.0',
    '',
  ]);
});

describe('refused input', () => {
  test('a filter with a line break cannot add a line of its own (ACL injection)', () => {
    const sneaky = entry('sensor-1', { publish: ['factory/x\ntopic read #'] });
    expect(errorCode(() => mosquittoConfig(input({ principals: [sneaky] })))).toBe(ErrorCode.InvalidArgument);
    expect(errorCode(() => mosquittoConfig(input({ triggerFilters: [' factory/+'] })))).toBe(ErrorCode.InvalidArgument);
  });

  test('an access file principal whose name is a function\'s login', () => {
    expect(errorCode(() => mosquittoConfig(input({ principals: [entry('fn-0123456789abcdef')] })))).toBe(ErrorCode.InvalidArgument);
  });
});
