/**
 * MQTT topics ↔ NATS subjects (gateway/transport/nats-subjects.ts, docs/protocol.md §2.7): what
 * maps, and what NATS cannot carry, refused with InvalidArgument before anything is subscribed.
 */
import { describe, expect, test } from 'vitest';
import { filterToSubjects, natsTopicProblem, subjectToTopic, topicToSubject } from '../../gateway/transport/nats-subjects.js';
import { codeOf } from '../fixtures/error-code.js';

describe('topic ↔ subject', () => {
  test('a topic level is a subject token', () => {
    expect(topicToSubject('edgefc/v1/reply/sensor-1')).toBe('edgefc.v1.reply.sensor-1');
    expect(subjectToTopic('edgefc.v1.invoke.sensor-1_ab.EdgeFC.echo')).toBe('edgefc/v1/invoke/sensor-1_ab/EdgeFC/echo');
  });

  test('filters: + is *, # is >, and a/# also matches a', () => {
    expect(filterToSubjects('edgefc/v1/invoke/+/+/+')).toEqual(['edgefc.v1.invoke.*.*.*']);
    expect(filterToSubjects('factory/+/temp')).toEqual(['factory.*.temp']);
    expect(filterToSubjects('factory/#')).toEqual(['factory', 'factory.>']);
    expect(filterToSubjects('#')).toEqual(['>']);
  });

  test.each(['factory/line.3/temp', 'factory/line 3', 'a//b', '/a', 'a/', 'a/*/b', 'a/>'])('"%s" is refused with InvalidArgument', (topic) => {
    expect(natsTopicProblem(topic, true)).toBeDefined();
    expect(codeOf(() => filterToSubjects(topic))).toBe('InvalidArgument');
    expect(codeOf(() => topicToSubject(topic))).toBe('InvalidArgument');
  });

  test('a topic name holds no wildcard', () => {
    expect(codeOf(() => topicToSubject('a/+/b'))).toBe('InvalidArgument');
  });
});
