/**
 * Limits of the wire protocol (docs/protocol.md §7). One place, so the client refuses early
 * what the gateway would refuse anyway, and the docs quote these numbers.
 */

/** Service and function names: FC's rule, 1–128 characters (docs/protocol.md §7.1). */
export const MAX_NAME_LENGTH = 128;

/** Client IDs appear in topics, so they are kept to topic-safe characters (§2.4). */
export const MAX_CLIENT_ID_LENGTH = 64;

/** Request IDs: nanoid's 21 characters by default; callers may bring their own up to 64 (§3.3). */
export const MAX_REQUEST_ID_LENGTH = 64;

/**
 * Decoded invokerContext JSON, in bytes (§7.3). 4 KiB holds a trace ID, a tenant and a few
 * custom fields; it rides on every call, so it is kept far below the payload caps.
 */
export const MAX_INVOKER_CONTEXT_BYTES = 4096;

/** Sync event payload (§7.2). 6 MiB: FC's historical synchronous cap; MQTT allows 256 MiB. */
export const MAX_SYNC_PAYLOAD_BYTES = 6 * 1024 * 1024;

/** Async event payload (§7.2). 128 KiB: FC's asynchronous cap; async calls are stored. */
export const MAX_ASYNC_PAYLOAD_BYTES = 128 * 1024;

/** Result payload a function may return (§7.2); larger results become UnhandledInvocationError. */
export const MAX_RESULT_BYTES = 6 * 1024 * 1024;

/** Envelope header JSON, in bytes (§3.1): the header length field is a uint16. */
export const MAX_HEADER_BYTES = 0xffff;

/** Longest call a client may ask for, in ms (§3.4): 24 h, FC's longest asynchronous run. */
export const MAX_TIMEOUT_MS = 24 * 60 * 60 * 1000;
