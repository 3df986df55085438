'use strict';
// CJS side: Node >= 20.19 can require() an ES module (no top-level await); the namespace object
// carries the named exports, so `require('linkedge-core-sdk').FCClient` works as in LinkEdge.
module.exports = require('../../dist/src/index.js');
