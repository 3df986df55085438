/**
 * Entry point for every message the gateway receives: a flat switch on the message kind, one
 * handler file per kind (docs/protocol.md §2, §8, §9).
 */
import { parseAdminTopic, parseInvokeTopic } from '../../src/protocol/topics.js';
import type { InboundMessage } from '../transport/inbound-message.js';
import type { DispatchContext } from './dispatch-context.js';
import { handleAdmin } from './handle-admin.js';
import { handleEnvelopeInvoke } from './handle-envelope-invoke.js';
import { handlePlainInvoke } from './handle-plain-invoke.js';

type MessageKind = 'invoke' | 'plain-invoke' | 'admin' | 'unroutable';

function classify(message: InboundMessage): MessageKind {
  if (message.topic.startsWith('edgefc/v1/invoke/')) {
    // §8.2: a Response Topic makes it a plain MQTT 5 request, whatever the payload looks like.
    return message.responseTopic !== undefined ? 'plain-invoke' : 'invoke';
  }
  if (message.topic.startsWith('edgefc/v1/admin/')) return 'admin';
  return 'unroutable';
}

export function dispatchMessage(context: DispatchContext, message: InboundMessage): void {
  const kind = classify(message);
  switch (kind) {
    case 'invoke': {
      const address = parseInvokeTopic(message.topic);
      if (address === undefined) return dropMalformedTopic(context, message);
      handleEnvelopeInvoke(context, address, message.payload);
      return;
    }
    case 'plain-invoke': {
      const address = parseInvokeTopic(message.topic);
      if (address === undefined) return dropMalformedTopic(context, message);
      handlePlainInvoke(context, address, message);
      return;
    }
    case 'admin': {
      const address = parseAdminTopic(message.topic);
      if (address === undefined) return dropMalformedTopic(context, message);
      handleAdmin(context, address, message.payload);
      return;
    }
    case 'unroutable':
      return dropMalformedTopic(context, message);
  }
}

/** §2.4: there is no safe address to answer a malformed topic, so it is logged and dropped. */
function dropMalformedTopic(context: DispatchContext, message: InboundMessage): void {
  context.logger.warn('dropped a message on a malformed topic (docs/protocol.md §2.4)', {
    topic: message.topic.slice(0, 200),
  });
}
