/**
 * nats-server's `authorization { users: [...] }` block from the access file and the template
 * (docs/security.md §10): what `edgefc broker-config nats` writes, for every node of the cluster
 * to include. A pure function of its input (hashes are made by the caller), so every line it
 * emits is checked by unit tests.
 *
 * The same least privilege as the Mosquitto ACL (mosquitto-config.ts), on subjects
 * (transport/nats-subjects.ts, docs/protocol.md §2.7): a device publishes only its own request
 * subjects and subscribes only its reply subject; the gateway subscribes to every request subject
 * and publishes every reply. Permissions are allow lists: everything else is denied. nats-server
 * applies them to MQTT clients too (checked against 2.9.10 in test/cluster/).
 *
 * The `invokers:` of each function are still the gateway's to check (call-policy.ts): a device
 * may publish a request for any function here, and the gateway answers AccessDenied.
 */
import { TOPIC_PREFIX } from 'edgefc/protocol';
import { ASYNC_SUBJECTS } from '../async/jetstream/names.js';
import { filterToSubjects } from '../transport/nats-subjects.js';
import type { AccessEntry } from './access-file.js';
import { assertDistinctLogins, unique } from './broker-logins.js';
import { CLUSTER_GATEWAYS_SUBJECT } from '../cluster/cluster-subjects.js';

/** A login that is not in the access file (the gateway's, a function's), with its bcrypt hash. */
export interface NatsLogin {
  name: string;
  bcryptHash: string;
}

export interface NatsFunctionLogin extends NatsLogin {
  /** `SERVICE/FUNCTION`, or `*` + `/` + `*` for the gateway's in-process functions. */
  function: string;
}

export interface NatsConfigInput {
  principals: readonly AccessEntry[];
  gateway: NatsLogin;
  functions: readonly NatsFunctionLogin[];
  /** The template's trigger filters (§11): the gateway takes them, functions may publish to them. */
  triggerFilters: readonly string[];
  /** The template's `mqtt` destination topics (§10.5): the gateway publishes to them. */
  destinationTopics: readonly string[];
}

export interface NatsFiles {
  /** The `authorization { … }` block: `include` it in every node's config. */
  authorization: string;
  /** Things a person must know or do; printed by the CLI. */
  notes: string[];
}

interface Permissions {
  publish: { allow: string[]; deny?: string[] };
  subscribe: { allow: string[]; deny?: string[] };
}

interface NatsUser {
  user: string;
  password: string;
  permissions: Permissions;
  allowed_connection_types: string[];
}

/**
 * Devices, operators and functions speak MQTT only; the gateway only natively. A device login is
 * refused on the NATS port (4222), where it could subscribe to `$MQTT.sub.>` itself: that grant
 * exists only because nats-server delivers a QoS 1 MQTT subscription through a subject there
 * (without it the SUBACK is a failure, measured on 2.9.10), and it refuses an MQTT client's own
 * subscription to `$MQTT/…` topics.
 */
const MQTT_ONLY = ['MQTT'];
const NATIVE_ONLY = ['STANDARD'];
const MQTT_QOS1_DELIVERY = '$MQTT.sub.>';

const S = TOPIC_PREFIX.replaceAll('/', '.');

/**
 * What the gateway's nats.js connection needs besides its topics: replies to its own requests
 * (`_INBOX.>`: JetStream and flush answers) and the JetStream API ($JS.API.>, $JS.ACK.>), for
 * the cluster's durable state (docs/cluster.md).
 */
const GATEWAY_NATIVE_PUBLISH = ['$JS.API.>', '$JS.ACK.>', '$KV.>', '$O.>', ASYNC_SUBJECTS, CLUSTER_GATEWAYS_SUBJECT];
/**
 * `CLUSTER_GATEWAYS_SUBJECT`: the gateways' announcements (docs/protocol.md §9.16), the gateway
 * login's alone. Not `$SYS.>`: the servers' own statistics stay with the system account, and
 * `cluster-status` reports them as not readable.
 */
const GATEWAY_NATIVE_SUBSCRIBE = ['_INBOX.>', '$KV.>', '$O.>', ASYNC_SUBJECTS, CLUSTER_GATEWAYS_SUBJECT];

/**
 * The cluster's state, denied outright to every login but the gateway's, both ways, whatever
 * topics the access file grants it (a `#` grant is `>`, which would match the Async and
 * announcement subjects; no grant reaches the `$` ones, which start with a literal level that is
 * not `$`, §11.1 — denied all the same, as a deny wins over any allow in nats-server): the
 * JetStream API and acks, the KV buckets (deployments, uploads, the access file with its hashes,
 * invocation records) and the object store (bundles), the Async stream's subjects (every accepted
 * call's event, and its stop subject; gateway/async/jetstream/names.ts) and the gateways'
 * announcements. docs/cluster.md, docs/security.md §11.
 */
const CLUSTER_STATE = ['$JS.>', '$KV.>', '$O.>', ASYNC_SUBJECTS, CLUSTER_GATEWAYS_SUBJECT];

export function natsConfig(input: NatsConfigInput): NatsFiles {
  assertDistinctLogins(input, 'NATS');
  const notes: string[] = [];
  const users: NatsUser[] = [];
  const withoutNats: string[] = [];
  for (const entry of input.principals) {
    if (entry.natsPassword === undefined) {
      withoutNats.push(entry.name);
      continue;
    }
    users.push({ user: entry.name, password: entry.natsPassword, permissions: principalPermissions(entry.name, entry.publish, entry.subscribe), allowed_connection_types: MQTT_ONLY });
  }
  for (const fn of input.functions) {
    users.push({ user: fn.name, password: fn.bcryptHash, permissions: principalPermissions(fn.name, input.triggerFilters, []), allowed_connection_types: MQTT_ONLY });
  }
  users.push({
    user: input.gateway.name,
    password: input.gateway.bcryptHash,
    permissions: {
      publish: { allow: unique([`${S}.reply.>`, ...subjects(input.destinationTopics), ...GATEWAY_NATIVE_PUBLISH]) },
      subscribe: { allow: unique([`${S}.invoke.*.*.*`, `${S}.admin.*.*`, `${S}.status.*`, ...subjects(input.triggerFilters), ...GATEWAY_NATIVE_SUBSCRIBE]) },
    },
    allowed_connection_types: NATIVE_ONLY,
  });
  if (withoutNats.length > 0) {
    notes.push(`no NATS login (no natsPassword: "edgefc users add NAME --update --nats"): ${withoutNats.join(', ')}`);
  }
  const header = [
    '# edgefc: nats-server users and permissions, written by "edgefc broker-config nats" (docs/security.md §10).',
    '# Include it in every node\'s config (include "authorization.conf"); after a change, reload every',
    '# node (nats-server --signal reload, or kill -HUP). Passwords are bcrypt hashes; allow lists deny the rest.',
  ];
  // nats-server's config syntax reads JSON: one serialiser, nothing hand-quoted.
  return { authorization: `${header.join('\n')}\nauthorization ${JSON.stringify({ users }, null, 2)}\n`, notes };
}

/** What access-control.ts lets a principal do, on subjects. */
function principalPermissions(name: string, publish: readonly string[], subscribe: readonly string[]): Permissions {
  return {
    publish: { allow: unique([`${S}.invoke.${name}.*.*`, `${S}.status.${name}`, `${S}.admin.${name}.*`, ...subjects(publish)]), deny: CLUSTER_STATE },
    // MQTT's reply/NAME/# matches reply/NAME too: both subjects.
    subscribe: { allow: unique([`${S}.reply.${name}`, `${S}.reply.${name}.>`, ...subjects(subscribe), MQTT_QOS1_DELIVERY]), deny: CLUSTER_STATE },
  };
}

/** Topic filters as subjects; one NATS cannot carry stops the command (typed, naming it). */
function subjects(filters: readonly string[]): string[] {
  return filters.flatMap((filter) => filterToSubjects(filter));
}

