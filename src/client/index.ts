/**
 * `edgefc/client`: the client's parts the gateway reuses: option resolution and the environment
 * variable names (`EDGEFC_BROKER_URL`, `EDGEFC_USERNAME`, `EDGEFC_PASSWORD`) the CLI shares with
 * `FCClient`, and the request channel its admin client runs on. `FCClient` itself is in `edgefc`.
 *
 * A subpath export for the gateway package, not the device API (docs/architecture.md, "Packages").
 */
export * from './options.js';
export { RequestChannel } from './request-channel.js';
export type { RequestChannelOptions, ChannelRequest } from './request-channel.js';
