'use strict';

// The simplest callee: shows what arrived, then answers with fixed text.
exports.handler = function handler(event, context, callback) {
  console.log('helloworld event:', event.toString('utf8'));
  if (context.invokerContext !== undefined) {
    console.log('helloworld invokerContext:', JSON.stringify(context.invokerContext));
  }
  callback(null, 'Hello from edgefc helloworld');
};
