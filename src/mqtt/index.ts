/**
 * `edgefc/mqtt`: how edgefc opens and tunes an MQTT.js connection (connect with TLS and login,
 * TCP_NODELAY, per-turn write coalescing, URLs with the password redacted). The gateway's link
 * to an external broker and its CLI connect through these, as `FCClient` does.
 *
 * A subpath export for the gateway package, not the device API (docs/architecture.md, "Packages").
 */
export * from './connect.js';
export * from './redact-url.js';
export * from './tcp-nodelay.js';
export * from './write-coalescing.js';
