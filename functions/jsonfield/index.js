'use strict';

// Reads a JSON event such as {"key": "value"} and answers with the value of "key".
exports.handler = function handler(event, context, callback) {
  let body;
  try {
    body = JSON.parse(event.toString('utf8'));
  } catch (err) {
    callback(new Error(`jsonfield: the event is not valid JSON (${err.message})`));
    return;
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    callback(new Error('jsonfield: the event must be a JSON object, e.g. {"key": "value"}'));
    return;
  }
  if (!Object.prototype.hasOwnProperty.call(body, 'key')) {
    callback(new Error('jsonfield: the event has no "key" field'));
    return;
  }
  // A string comes back as text; any other JSON value is serialised back to JSON.
  callback(null, body.key);
};
