/**
 * What a template names that a NATS cluster must carry as subjects (docs/protocol.md §2.7): its
 * trigger filters (§11) and its `mqtt` destination topics (§10.5). Service and function names
 * never hold what NATS refuses (`[A-Za-z_][A-Za-z0-9_-]*`, §7.1), nor do client IDs (§2.4); a
 * template's topics may. In NATS mode a template with one is refused as a whole, before anything
 * connects or serves — at start, at deploy (on the gateway that takes it, before the cluster's
 * deployment moves) and by `edgefc validate --nats` — with InvalidArgument naming each field.
 * Without this, a trigger would stop a start only once connecting, and a destination would fail
 * at its first publish, on every gateway.
 */
import { InvalidArgumentError } from 'edgefc/errors';
import type { Template } from '../registry/types.js';
import { natsTopicProblem } from '../transport/nats-subjects.js';

/** One field NATS cannot carry: where it is in the template, and why. */
export interface NatsNameProblem {
  /** e.g. `services.S.functions.f.triggers[0].topic` */
  field: string;
  value: string;
  reason: string;
}

export function natsNameProblems(template: Template): NatsNameProblem[] {
  const problems: NatsNameProblem[] = [];
  for (const fn of template.functions) {
    const at = `services.${fn.serviceName}.functions.${fn.name}`;
    (fn.triggers ?? []).forEach((trigger, i) => {
      const reason = natsTopicProblem(trigger.topic, true);
      if (reason !== undefined) problems.push({ field: `${at}.triggers[${i}].topic`, value: trigger.topic, reason });
    });
    for (const outcome of ['onSuccess', 'onFailure'] as const) {
      const destination = fn.asyncConfiguration?.[outcome];
      if (destination?.kind !== 'mqtt') continue;
      const topic = destination.topic;
      const reason = natsTopicProblem(topic, false) ?? (/[+#]/.test(topic) ? 'a destination topic holds no wildcard' : undefined);
      if (reason !== undefined) problems.push({ field: `${at}.asyncConfiguration.destinationConfig.${outcome}`, value: topic, reason });
    }
  }
  return problems;
}

/** Throws InvalidArgument listing every field of `template` NATS cannot carry (§2.7). */
export function assertNatsTemplate(template: Template, file: string): void {
  const problems = natsNameProblems(template);
  if (problems.length === 0) return;
  const lines = problems.map((p) => `${p.field}: "${p.value}": ${p.reason}`);
  throw new InvalidArgumentError(`${file}: cannot be served by a NATS cluster (docs/protocol.md §2.7): ${lines.join('; ')}`);
}
