/**
 * A message on a topic some function's trigger matches (docs/protocol.md §11): one durable
 * Async call per matching function, with the payload as the event and the topic in
 * `context.invokerContext.trigger`. Resolves once every call is stored (the PUBACK waits for it).
 */
import { newRequestId } from 'edgefc/protocol';
import { topicMatches } from 'edgefc/protocol';
import { DEFAULT_QUALIFIER } from 'edgefc/protocol';
import { MAX_ASYNC_PAYLOAD_BYTES } from 'edgefc/protocol';
import type { InboundMessage } from '../transport/inbound-message.js';
import type { DispatchContext } from './dispatch-context.js';

export function handleTrigger(context: DispatchContext, message: InboundMessage): Promise<void> | undefined {
  const stored: Promise<unknown>[] = [];
  for (const fn of context.registry.functions()) {
    for (const trigger of fn.triggers ?? []) {
      if (!topicMatches(trigger.topic, message.topic)) continue;
      const entry = context.registry.find(fn.serviceName, fn.name);
      if (entry === undefined) continue;
      if (message.payload.length > MAX_ASYNC_PAYLOAD_BYTES) {
        context.logger.warn('trigger message over the Async payload cap dropped (§11.2)', { topic: message.topic, bytes: message.payload.length });
        break;
      }
      const requestId = newRequestId();
      try {
        stored.push(
          context.async
            .accept(entry.service, entry.fn, {
              clientId: '',
              requestId,
              source: 'trigger',
              topic: message.topic,
              event: message.payload,
              invokerContext: { trigger: { type: 'mqtt', name: trigger.name, topic: message.topic } },
              qualifier: DEFAULT_QUALIFIER,
            })
            .catch((error: unknown) => logRefusal(context, message.topic, `${fn.serviceName}/${fn.name}`, error)),
        );
      } catch (error) {
        // Queue full: nobody waits for a reply to a trigger message, so the refusal is logged (§11.2).
        logRefusal(context, message.topic, `${fn.serviceName}/${fn.name}`, error);
      }
      break; // one call per function, even when several of its filters match
    }
  }
  return stored.length === 0 ? undefined : Promise.all(stored).then(() => undefined);
}

function logRefusal(context: DispatchContext, topic: string, fn: string, error: unknown): void {
  context.logger.warn('trigger message not taken', { topic: topic.slice(0, 200), function: fn, error: error instanceof Error ? error.message : String(error) });
}
