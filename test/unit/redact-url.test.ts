import { describe, expect, it } from 'vitest';
import { parseBrokerList } from '../../src/mqtt/broker-list.js';
import { redactUrl } from '../../src/mqtt/redact-url.js';

describe('redactUrl', () => {
  it('hides a password and keeps everything else', () => {
    expect(redactUrl('mqtt://gw:s3cret@10.0.0.5:1883')).toBe('mqtt://gw:***@10.0.0.5:1883');
    expect(redactUrl('mqtts://a:b%40c@host/')).toBe('mqtts://a:***@host/');
  });

  it('leaves URLs without a password as they are', () => {
    expect(redactUrl('mqtt://127.0.0.1:1883')).toBe('mqtt://127.0.0.1:1883');
    expect(redactUrl('mqtt://user@host:1883')).toBe('mqtt://user@host:1883');
  });

  it('hides a user:password part even in what is not a URL', () => {
    expect(redactUrl('mqtt://u:p@[bad')).not.toContain(':p@');
  });
});

describe('broker lists', () => {
  it('hides each entry\'s password', () => {
    expect(redactUrl('mqtt://a:one@h1:1883,mqtt://a:two@h2:1883')).toBe('mqtt://a:***@h1:1883,mqtt://a:***@h2:1883');
  });

  it('parses every entry into a server, the first URL kept for MQTT.js', () => {
    expect(parseBrokerList('mqtt://10.0.0.1:1883')).toEqual({ first: 'mqtt://10.0.0.1:1883', servers: undefined });
    expect(parseBrokerList('mqtt://10.0.0.1:1883, mqtts://[::1]:8883,mqtt://n3')).toEqual({
      first: 'mqtt://10.0.0.1:1883',
      servers: [
        { host: '10.0.0.1', port: 1883, protocol: 'mqtt' },
        { host: '::1', port: 8883, protocol: 'mqtts' },
        { host: 'n3', port: 1883, protocol: 'mqtt' },
      ],
    });
  });

  it('refuses an entry that is not mqtt:// or mqtts://, its password hidden', () => {
    expect(() => parseBrokerList('mqtt://h1:1883,ws://u:secret@h2')).toThrow(/not mqtt:\/\/HOST:PORT/);
    expect(() => parseBrokerList('mqtt://h1:1883,ws://u:secret@h2')).not.toThrow(/secret/);
    expect(() => parseBrokerList('mqtt://h1:1883,nonsense')).toThrow(expect.objectContaining({ code: 'InvalidArgument' }));
  });
});
