/**
 * MQTT topic filters (MQTT 3.1.1 §4.7), for the gateway's triggers (docs/protocol.md §11):
 * validating a filter and matching a topic name against it without a broker.
 */
import { TOPIC_PREFIX } from './topics.js';

/** Why `filter` is not a valid trigger filter, or undefined (§11.1). */
export function triggerFilterProblem(filter: string): string | undefined {
  if (filter.length === 0) return 'must not be empty';
  if (filter.length > 1024) return 'must be at most 1024 characters';
  if (filter.includes('\u0000')) return 'must not contain U+0000 [MQTT-4.7.3-2]';
  const levels = filter.split('/');
  for (const [index, level] of levels.entries()) {
    if (level.includes('#') && (level !== '#' || index !== levels.length - 1)) {
      return '"#" must be a whole level, and the last one [MQTT-4.7.1-2]';
    }
    if (level.includes('+') && level !== '+') return '"+" must be a whole level [MQTT-4.7.1-3]';
  }
  const first = levels[0] ?? '';
  // §11.1: a literal first level keeps triggers off the gateway's own topics (replies, results),
  // so nothing the gateway publishes there can loop back as an invocation.
  if (first === '' || first === '+' || first === '#') return 'must start with a literal topic level (not "/", "+" or "#") (§11.1)';
  if (first === TOPIC_PREFIX.split('/')[0]) return `must not match the gateway's own "${TOPIC_PREFIX}/…" topics (§11.1)`;
  if (first.startsWith('$')) return 'must not start with "$": those topics are the broker\'s (MQTT 3.1.1 §4.7.2)';
  return undefined;
}

/** Why `topic` is not a topic name a gateway may publish to, or undefined. */
export function topicNameProblem(topic: string): string | undefined {
  if (topic.length === 0) return 'must not be empty';
  if (topic.length > 1024) return 'must be at most 1024 characters';
  if (/[+#]/.test(topic) || topic.includes('\u0000')) return 'must not contain "+", "#" or U+0000 [MQTT-4.7.3-2]';
  if (topic.startsWith(`${TOPIC_PREFIX.split('/')[0]}/`)) return `must not be one of the gateway's own "${TOPIC_PREFIX}/…" topics`;
  if (topic.startsWith('$')) return 'must not start with "$"';
  return undefined;
}

/** True when the topic name matches the filter (MQTT 3.1.1 §4.7.1). */
export function topicMatches(filter: string, topic: string): boolean {
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i += 1) {
    const level = f[i];
    if (level === '#') return true; // also matches the parent level: "a/#" matches "a"
    if (i >= t.length) return false;
    if (level !== '+' && level !== t[i]) return false;
  }
  return f.length === t.length;
}
