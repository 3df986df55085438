'use strict';
// CJS side: the edgefc SDK package (src/, installed as node_modules/edgefc). It is ESM; Node >=
// 20.19 can require() an ES module (no top-level await), and the namespace object carries the
// named exports, so `require('linkedge-core-sdk').FCClient` works as in LinkEdge.
module.exports = require('edgefc');
