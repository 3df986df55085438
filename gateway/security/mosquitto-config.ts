/**
 * Mosquitto's password file, ACL file and config snippet from the access file and the template
 * (docs/protocol.md §2.5): what `edgefc broker-config mosquitto` writes. A pure function of its
 * input (hashes are made by the caller), so every line it emits is checked by unit tests.
 *
 * The ACL gives every login its own `user` block and uses no `pattern` line: Mosquitto applies
 * every `pattern` line to every user, whatever `user` line stands above it, so one pattern meant
 * for operators would grant devices the same. Per-user blocks need no `%u`/`%c` either: a
 * principal's name is both its username and its topic address (principal.ts).
 *
 * What Mosquitto 2.0 enforces with these files, measured against 2.0.11 (test/security/):
 * - CONNECT: refused (CONNACK 5, MQTT 5: 0x87) without a username and password in the file;
 * - PUBLISH outside the user's `write` lines: dropped (MQTT 5: PUBACK 0x87);
 * - SUBSCRIBE: always granted (acl_file does not check subscriptions); each message is checked
 *   against the subscriber's `read` lines when delivered, so nothing outside them arrives;
 * - the client ID is not bound to the username: a principal may connect with another's client ID
 *   and so close that connection (Mosquitto's session takeover), yet reads and writes only its
 *   own topics. The embedded broker refuses such a CONNECT (access-control.ts).
 */
import { InvalidArgumentError } from 'edgefc/errors';
import { TOPIC_PREFIX } from 'edgefc/protocol';
import type { AccessEntry } from './access-file.js';
import { assertDistinctLogins, unique } from './broker-logins.js';
import { PrincipalRole } from './principal.js';

/** A login that is not in the access file: the gateway's, or a function's (function-principals.ts). */
export interface BrokerLogin {
  name: string;
  /** `$7$` hash (password-hash.ts). */
  passwordHash: string;
}

export interface FunctionLogin extends BrokerLogin {
  /** `SERVICE/FUNCTION`, or `*` + `/` + `*` for the gateway's in-process functions. */
  function: string;
}

export interface MosquittoListener {
  host: string;
  port: number;
}

/** A TLS listener that takes a verified client certificate's CN as the username (mutual TLS). */
export interface MosquittoTlsListener extends MosquittoListener {
  cafile: string;
  certfile: string;
  keyfile: string;
}

export interface MosquittoConfigInput {
  principals: readonly AccessEntry[];
  gateway: BrokerLogin;
  functions: readonly FunctionLogin[];
  /** The template's trigger filters (§11): the gateway reads them, functions may publish to them. */
  triggerFilters: readonly string[];
  /** The template's `mqtt` destination topics (§10.5): the gateway publishes to them. */
  destinationTopics: readonly string[];
  /** Absolute paths, as the config snippet names them. */
  passwordFile: string;
  aclFile: string;
  listener: MosquittoListener;
  tls?: MosquittoTlsListener;
}

export interface MosquittoFiles {
  /** `name:$7$…` lines. */
  passwords: string;
  acl: string;
  /** The mosquitto.conf lines: include it, or copy it into /etc/mosquitto/conf.d/. */
  config: string;
  /** Things a person must know or do; printed by the CLI. */
  notes: string[];
}

const P = TOPIC_PREFIX;

export function mosquittoConfig(input: MosquittoConfigInput): MosquittoFiles {
  assertDistinctLogins(input, 'broker');
  const notes: string[] = [];
  const passwords: string[] = [];
  const acl: string[] = [
    '# edgefc ACL for Mosquitto, written by "edgefc broker-config mosquitto" (docs/protocol.md §2.5).',
    '# One "user" block per login and no "pattern" line: Mosquitto applies a pattern line to every user.',
    '# A principal\'s name is its topic address; "read edgefc/v1/reply/NAME/#" also matches the parent',
    '# topic edgefc/v1/reply/NAME (MQTT §4.7.1.2; checked against Mosquitto 2.0.11).',
  ];
  const certificateOnly: string[] = [];

  for (const entry of input.principals) {
    const login = entry.password === undefined ? 'certificate only' : entry.certificate ? 'password or certificate' : 'password';
    const comment = [`# ${entry.name}: ${entry.role}, ${login}`];
    if (entry.password === undefined) {
      certificateOnly.push(entry.name);
      comment.push(`# (no password line: it logs in on a TLS listener with use_identity_as_username true${input.tls === undefined ? ', which broker-config writes with --tls-*' : ''})`);
    }
    if (entry.role === PrincipalRole.operator) {
      comment.push('# (operators publish only their granted topics here: "any topic outside edgefc/" cannot be one acl_file grant)');
    }
    acl.push('', ...comment, ...userBlock(entry.name, entry.publish, entry.subscribe));
    if (entry.password !== undefined) passwords.push(passwordLine(entry.name, entry.password));
  }

  for (const fn of input.functions) {
    acl.push('', `# ${fn.name}: function ${fn.function === '*/*' ? '(every isolation: none function, in the gateway\'s process)' : fn.function}`);
    acl.push(...userBlock(fn.name, input.triggerFilters, []));
    passwords.push(passwordLine(fn.name, fn.passwordHash));
  }

  acl.push('', '# the gateway: every request topic, every reply topic, its triggers and destinations', `user ${input.gateway.name}`);
  acl.push(`topic read ${P}/invoke/+/+/+`, `topic read ${P}/admin/+/+`, `topic read ${P}/status/+`, `topic write ${P}/reply/#`);
  for (const filter of unique(input.triggerFilters)) acl.push(`topic read ${checked(filter)}`);
  for (const topic of unique(input.destinationTopics)) acl.push(`topic write ${checked(topic)}`);
  passwords.push(passwordLine(input.gateway.name, input.gateway.passwordHash));

  if (certificateOnly.length > 0 && input.tls === undefined) {
    notes.push(`certificate only, so not in the password file: ${certificateOnly.join(', ')}; give --tls-cert, --tls-key and --tls-ca for a listener that takes a client certificate's CN as the username`);
  }
  return { passwords: lines(passwords), acl: lines(acl), config: configText(input), notes };
}

/** What access-control.ts lets a principal do, as Mosquitto lines. */
function userBlock(name: string, write: readonly string[], read: readonly string[]): string[] {
  const block = [
    `user ${name}`,
    `topic write ${P}/invoke/${name}/+/+`,
    `topic write ${P}/status/${name}`,
    // Admin by a non-operator reaches the gateway, which answers AccessDenied (call-policy.ts):
    // a typed error rather than a request the broker drops without a word.
    `topic write ${P}/admin/${name}/+`,
    `topic read ${P}/reply/${name}/#`,
  ];
  for (const filter of unique(write)) block.push(`topic write ${checked(filter)}`);
  for (const filter of unique(read)) block.push(`topic read ${checked(filter)}`);
  return block;
}

function configText(input: MosquittoConfigInput): string {
  const out = [
    '# edgefc: Mosquitto settings written by "edgefc broker-config mosquitto" (docs/security.md).',
    '# After a change, "kill -HUP <mosquitto pid>" (systemctl reload mosquitto) re-reads the password',
    '# and ACL files; a changed listener needs a restart.',
    'allow_anonymous false',
    `password_file ${checked(input.passwordFile)}`,
    `acl_file ${checked(input.aclFile)}`,
    '# Without TCP_NODELAY a QoS 1 request/reply takes ~88 ms instead of ~0.3 ms (docs/protocol.md §1.3).',
    'set_tcp_nodelay true',
    '# Mosquitto\'s default of 1,000 queued messages per client silently drops replies to a busy client.',
    'max_queued_messages 10000',
    // Not queue_qos0_messages: a Sync request at QoS 0 (FCClient's default) sent while no gateway
    // is connected is dropped, and its caller times out, rather than run whenever the gateway is
    // back: after a long outage an hour-old actuation must not run (docs/operations.md).
    '# As the embedded broker (docs/protocol.md §7.6): a larger packet is refused, not buffered whole.',
    'max_packet_size 7340032',
    `listener ${input.listener.port} ${checked(input.listener.host)}`,
  ];
  const tls = input.tls;
  if (tls !== undefined) {
    out.push(
      '# Mutual TLS: a client certificate signed by cafile is required, and its CN is the username',
      '# the ACL applies (certificate: true principals; the CN must be the principal\'s name).',
      `listener ${tls.port} ${checked(tls.host)}`,
      `cafile ${checked(tls.cafile)}`,
      `certfile ${checked(tls.certfile)}`,
      `keyfile ${checked(tls.keyfile)}`,
      'require_certificate true',
      'use_identity_as_username true',
    );
  }
  return lines(out);
}

function passwordLine(name: string, hash: string): string {
  // Mosquitto splits a line at ":"; principal names and $7$ hashes have none, but say so here.
  if (/[:\s]/.test(name) || /[:\s]/.test(hash)) throw new InvalidArgumentError(`cannot write a password line for "${name}"`);
  return `${name}:${hash}`;
}

/**
 * A topic or path as one line's end. Mosquitto takes the rest of the line after `topic read `
 * (strips leading spaces only), so a line break would start a new grant and edge spaces would
 * change the filter: both are refused.
 */
function checked(value: string): string {
  // eslint-disable-next-line no-control-regex -- control characters are what is refused
  if (value === '' || /[\u0000-\u001f\u007f]/.test(value) || value.trim() !== value) {
    throw new InvalidArgumentError(`${JSON.stringify(value)} cannot be written into a Mosquitto file: no control characters, line breaks or edge spaces`);
  }
  return value;
}

function lines(list: readonly string[]): string {
  return `${list.join('\n')}\n`;
}
