/** Topics of the raw baseline (workers/responder.ts); nothing here collides with edgefc/v1/#. */
export const RAW_REQUEST_PREFIX = 'bench/echo/';
export const RAW_REPLY_PREFIX = 'bench/reply/';
/** MQTT 5 request/response baseline: requests here, replies on the Response Topic. */
export const RR_REQUEST_PREFIX = 'bench/rr/';
export const RR_REPLY_PREFIX = 'bench/rr-reply/';
