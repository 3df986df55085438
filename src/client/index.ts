/**
 * `edgefc/client`: the client's option resolution and the environment variable names
 * (`EDGEFC_BROKER_URL`, `EDGEFC_USERNAME`, `EDGEFC_PASSWORD`) that the gateway's CLI and its
 * function processes share with `FCClient`. `FCClient` itself is in `edgefc`; the request channel
 * the CLI's admin client runs on is `edgefc/request-channel` (it loads mqtt, which a function
 * process that only needs these names should not pay for).
 *
 * A subpath export for the gateway package, not the device API (docs/architecture.md, "Packages").
 */
export * from './options.js';
