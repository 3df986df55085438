/**
 * `edgefc/protocol`: the wire protocol (docs/protocol.md) as the gateway reads and writes it:
 * topics, the envelope, request and reply codecs, names and limits, trace context.
 *
 * A subpath export for the gateway package (and for anyone writing another gateway or client),
 * not the device API: devices use `edgefc`. It follows the SDK's version; the gateway pins that
 * version exactly (docs/architecture.md, "Packages").
 */
export * from './envelope.js';
export * from './invoker-context.js';
export * from './limits.js';
export * from './names.js';
export * from './reply.js';
export * from './request-id.js';
export * from './request.js';
export * from './topic-filter.js';
export * from './topics.js';
export * from './trace-context.js';
