/**
 * Entry point for every message the gateway receives: a flat switch on the message kind, one
 * handler file per kind (docs/protocol.md §2, §8, §9, §10.7, §11).
 *
 * A handler that stores the message durably (an Async call, a trigger message) returns a
 * promise; the transport sends the message's PUBACK only once it settles (§10.1).
 */
import { parseAdminTopic, parseInvokeTopic, parseStatusTopic, TOPIC_PREFIX } from 'edgefc/protocol';
import type { InboundMessage } from '../transport/inbound-message.js';
import type { DispatchContext } from './dispatch-context.js';
import { handleAdmin } from './handle-admin.js';
import { handleEnvelopeInvoke } from './handle-envelope-invoke.js';
import { handlePlainInvoke } from './handle-plain-invoke.js';
import { handleStatus } from './handle-status.js';
import { handleTrigger } from './handle-trigger.js';

type MessageKind = 'invoke' | 'plain-invoke' | 'admin' | 'status' | 'trigger' | 'unroutable';

function classify(message: InboundMessage): MessageKind {
  if (message.topic.startsWith('edgefc/v1/invoke/')) {
    // §8.2: a Response Topic makes it a plain MQTT 5 request, whatever the payload looks like.
    return message.responseTopic !== undefined ? 'plain-invoke' : 'invoke';
  }
  if (message.topic.startsWith('edgefc/v1/admin/')) return 'admin';
  if (message.topic.startsWith('edgefc/v1/status/')) return 'status';
  // §11.1: trigger filters never match the gateway's own topics.
  if (!message.topic.startsWith(`${TOPIC_PREFIX}/`)) return 'trigger';
  return 'unroutable';
}

export function dispatchMessage(context: DispatchContext, message: InboundMessage): Promise<void> | undefined {
  const kind = classify(message);
  switch (kind) {
    case 'invoke': {
      const address = parseInvokeTopic(message.topic);
      if (address === undefined) return dropMalformedTopic(context, message);
      return handleEnvelopeInvoke(context, address, message.payload);
    }
    case 'plain-invoke': {
      const address = parseInvokeTopic(message.topic);
      if (address === undefined) return dropMalformedTopic(context, message);
      handlePlainInvoke(context, address, message);
      return undefined;
    }
    case 'admin': {
      const address = parseAdminTopic(message.topic);
      if (address === undefined) return dropMalformedTopic(context, message);
      handleAdmin(context, address, message.payload);
      return undefined;
    }
    case 'status': {
      const clientId = parseStatusTopic(message.topic);
      if (clientId === undefined) return dropMalformedTopic(context, message);
      // Answered when read; nothing to hold the PUBACK for (handleStatus answers every failure).
      void handleStatus(context, clientId, message.payload);
      return undefined;
    }
    case 'trigger':
      return handleTrigger(context, message);
    case 'unroutable':
      return dropMalformedTopic(context, message);
  }
}

/** §2.4: there is no safe address to answer a malformed topic, so it is logged and dropped. */
function dropMalformedTopic(context: DispatchContext, message: InboundMessage): undefined {
  context.logger.warn('dropped a message on a malformed topic (docs/protocol.md §2.4)', {
    topic: message.topic.slice(0, 200),
  });
  return undefined;
}
