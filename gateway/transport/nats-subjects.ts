/**
 * MQTT topics ↔ NATS subjects, as nats-server's MQTT listener maps them (docs/protocol.md §2.7):
 * a topic level is a subject token, `/` becomes `.`, the filter wildcards `+` and `#` become `*`
 * and `>`. Devices keep speaking MQTT to the listener; the gateway subscribes and publishes the
 * same messages natively, on the subjects.
 *
 * What cannot be mapped is refused here, with a typed error, before anything is subscribed or
 * published: nats-server 2.9.10 refuses a topic level containing `.` or a space (measured,
 * /work/shared/FACTS.md), and an empty level (`a//b`, a leading or trailing `/`) has no token.
 * edgefc's own topics never hold one (client IDs and names are `[A-Za-z0-9_-]`, §2.4, §7.1); the
 * template's trigger filters and destination topics may, and are refused in NATS mode only.
 */
import { InvalidArgumentError } from 'edgefc/errors';

/** What a topic level may not hold for NATS: a `.` (a token separator), white space, or the NATS wildcards. */
const REFUSED_IN_LEVEL = /[.\s*>]/;

function levelProblem(level: string): string | undefined {
  if (level === '') return 'an empty topic level (a leading, trailing or doubled "/")';
  if (REFUSED_IN_LEVEL.test(level)) return `the topic level "${level}" (NATS refuses ".", spaces, "*" and ">" in one)`;
  return undefined;
}

/**
 * Why `topicOrFilter` cannot be carried by NATS, or undefined when it can. `filter`: `+` and `#`
 * are wildcards (whole levels, as MQTT has them), not characters.
 */
export function natsTopicProblem(topicOrFilter: string, filter: boolean): string | undefined {
  for (const level of topicOrFilter.split('/')) {
    if (filter && (level === '+' || level === '#')) continue;
    const problem = levelProblem(level);
    if (problem !== undefined) return problem;
  }
  return undefined;
}

function refuse(what: string, value: string, problem: string): never {
  throw new InvalidArgumentError(`${what} "${value}" cannot be used with NATS (docs/protocol.md §2.7): ${problem}`);
}

/** The subject an MQTT topic name is carried on: `edgefc/v1/reply/dev-1` → `edgefc.v1.reply.dev-1`. */
export function topicToSubject(topic: string): string {
  const problem = natsTopicProblem(topic, false);
  if (problem !== undefined) refuse('the topic', topic, problem);
  if (topic.includes('+') || topic.includes('#')) refuse('the topic', topic, 'a topic name holds no wildcard');
  return topic.replaceAll('/', '.');
}

/** The MQTT topic a subject stands for. Subjects the gateway subscribes to come from valid topics only. */
export function subjectToTopic(subject: string): string {
  return subject.replaceAll('.', '/');
}

/**
 * The subjects an MQTT filter matches. MQTT's `a/#` also matches the parent `a` [MQTT-4.7.1-2];
 * NATS's `a.>` needs at least one more token, so that is two subjects.
 */
export function filterToSubjects(filter: string): string[] {
  const problem = natsTopicProblem(filter, true);
  if (problem !== undefined) refuse('the topic filter', filter, problem);
  const levels = filter.split('/').map((level) => (level === '+' ? '*' : level === '#' ? '>' : level));
  const subject = levels.join('.');
  if (levels.length > 1 && levels[levels.length - 1] === '>') return [levels.slice(0, -1).join('.'), subject];
  return [subject];
}
