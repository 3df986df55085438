'use strict';

// Calls EdgeFC/helloworld through the gateway, as a device or another function would.
const { FCClient } = require('linkedge-core-sdk');

// One client per instance: it keeps one broker connection for every call this instance makes.
const fc = new FCClient();

exports.handler = function handler(event, context, callback) {
  // The callee sees this object as context.invokerContext; on the wire it travels as base64 JSON.
  const traceInfo = {
    caller: 'EdgeFC/invoker',
    callerRequestId: context.requestId,
    note: 'set by the invoker sample',
  };
  const params = {
    serviceName: 'EdgeFC',
    functionName: 'helloworld',
    invocationType: 'Sync',
    invokerContext: Buffer.from(JSON.stringify(traceInfo)).toString('base64'),
    payload: 'ping from the invoker sample',
  };
  fc.invokeFunction(params, (err, data) => {
    if (err) {
      const failure = new Error(`EdgeFC/helloworld failed: ${err.code}: ${err.message}`);
      failure.code = err.code;
      callback(failure);
      return;
    }
    // Text results arrive as a string, binary ones as a Buffer; helloworld answers text.
    const payload = Buffer.isBuffer(data.payload) ? data.payload.toString('utf8') : data.payload;
    callback(null, { from: 'EdgeFC/helloworld', payload });
  });
};
