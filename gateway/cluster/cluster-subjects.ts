/**
 * The NATS subject gateways announce themselves on (docs/protocol.md §9.16). Outside the request
 * subjects' tree (`edgefc.v1.invoke…`) and in no queue group: every gateway hears every other.
 * Only the gateway login may publish or subscribe to it (security/nats-config.ts, docs/security.md
 * §10): a device can neither read the cluster's layout nor announce a gateway.
 */
export const CLUSTER_GATEWAYS_SUBJECT = 'edgefc.v1.cluster.gateways';
