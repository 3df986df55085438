import { describe, expect, it } from 'vitest';
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
