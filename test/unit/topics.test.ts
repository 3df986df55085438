import { describe, expect, it } from 'vitest';
import { adminTopic, invokeTopic, parseAdminTopic, parseInvokeTopic, replyTopic } from '../../src/protocol/topics.js';
import { nameProblem } from '../../src/protocol/names.js';

describe('topics (protocol §2)', () => {
  it('builds and parses invoke topics', () => {
    const topic = invokeTopic('dev-1', 'EdgeFC', 'helloworld');
    expect(topic).toBe('edgefc/v1/invoke/dev-1/EdgeFC/helloworld');
    expect(parseInvokeTopic(topic)).toEqual({ clientId: 'dev-1', serviceName: 'EdgeFC', functionName: 'helloworld' });
    expect(replyTopic('dev-1')).toBe('edgefc/v1/reply/dev-1');
  });

  it.each([
    'edgefc/v1/invoke/dev/EdgeFC',
    'edgefc/v1/invoke/dev/EdgeFC/hello/extra',
    'edgefc/v1/invoke//EdgeFC/hello',
    'edgefc/v1/invoke/dev/9bad/hello',
    'edgefc/v1/invoke/dev.1/EdgeFC/hello',
    `edgefc/v1/invoke/${'c'.repeat(65)}/EdgeFC/hello`,
    'edgefc/v2/invoke/dev/EdgeFC/hello',
  ])('refuses %s', (topic) => {
    expect(parseInvokeTopic(topic)).toBeUndefined();
  });

  it('builds and parses admin topics', () => {
    expect(parseAdminTopic(adminTopic('cli_1', 'list'))).toEqual({ clientId: 'cli_1', operation: 'list' });
    expect(parseAdminTopic('edgefc/v1/admin/cli_1/LIST')).toBeUndefined();
    expect(parseAdminTopic('edgefc/v1/admin/cli_1')).toBeUndefined();
  });
});

describe('names (protocol §7.1)', () => {
  it.each(['a', '_x', 'EdgeFC', 'hello-world_2', 'x'.repeat(128)])('accepts %s', (name) => {
    expect(nameProblem(name)).toBeUndefined();
  });
  it.each(['', '1abc', '-a', 'a b', 'a/b', 'a.b', 'x'.repeat(129), 'é'])('refuses %j', (name) => {
    expect(nameProblem(name)).toBeTypeOf('string');
  });
  it('refuses non-strings', () => {
    expect(nameProblem(undefined)).toBeTypeOf('string');
    expect(nameProblem(42)).toBeTypeOf('string');
  });
});
