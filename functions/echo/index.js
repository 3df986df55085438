'use strict';

// Answers with the event bytes unchanged; a Buffer result is returned as binary, not re-encoded.
exports.handler = function handler(event, context, callback) {
  callback(null, event);
};
