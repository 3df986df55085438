/**
 * Who may connect and what each principal may publish and subscribe to (docs/security.md §3):
 * the access file's principals plus the live function instances', checked by the embedded
 * broker's hooks (broker-auth.ts) and, on every broker, by the gateway itself (call-policy.ts)
 * from the topic's client level, which the broker binds to the principal.
 *
 * The access file is read again when it changes (inode, size or modification time) (checked on each CONNECT),
 * so `edgefc users add` takes effect for the next connection without a restart.
 */
import { stat } from 'node:fs/promises';
import { AuthenticationFailedError } from 'edgefc/errors';
import { TOPIC_PREFIX } from 'edgefc/protocol';
import { topicMatches } from 'edgefc/protocol';
import { loadAccessFile, type AccessEntry } from './access-file.js';
import { FunctionCredentials } from './function-credentials.js';
import { verifyPassword } from './password-hash.js';
import { clientIdBelongsTo, PrincipalRole, type Principal } from './principal.js';

/** MQTT 3.1.1 CONNACK return codes (§3.2.2.3) for a refused CONNECT. */
export const ConnackCode = { identifierRejected: 2, badCredentials: 4, notAuthorized: 5 } as const;

export class ConnectRefused extends AuthenticationFailedError {
  readonly returnCode: number;
  constructor(returnCode: number, message: string) {
    super(message);
    this.returnCode = returnCode;
  }
}

export interface ConnectAttempt {
  clientId: string;
  username: string | undefined;
  password: Buffer | undefined;
  /** Subject CN of a client certificate the TLS listener verified against its CA. */
  certificateName: string | undefined;
}

const PREFIX = `${TOPIC_PREFIX}/`;
const RESERVED_ROOT = TOPIC_PREFIX.split('/')[0] ?? 'edgefc';

export class AccessControl {
  readonly functions = new FunctionCredentials();
  /** Told when a changed access file cannot be used; the previous principals stay in force. */
  onReloadError: (error: unknown) => void = () => undefined;
  readonly #path: string;
  #principals = new Map<string, AccessEntry>();
  /** Which file was read: inode, size and mtime (a rewrite is a rename, so a new inode). */
  #version: string | undefined;

  private constructor(path: string) {
    this.#path = path;
  }

  static async open(path: string): Promise<AccessControl> {
    const control = new AccessControl(path);
    await control.refresh();
    return control;
  }

  get path(): string {
    return this.#path;
  }

  /** Re-read the access file if it changed since the last read. */
  async refresh(): Promise<void> {
    let version: string;
    try {
      const info = await stat(this.#path);
      version = `${info.ino}:${info.size}:${info.mtimeMs}`;
    } catch {
      version = 'missing';
    }
    if (version === this.#version) return;
    const first = this.#version === undefined;
    this.#version = version;
    try {
      this.#principals = (await loadAccessFile(this.#path)).principals;
    } catch (error) {
      // At start a bad file stops the gateway; later, a bad edit must not lock everyone out:
      // the last good principals stay, and the problem is reported (once per change).
      if (first) throw error;
      this.onReloadError(error);
    }
  }

  entries(): AccessEntry[] {
    return [...this.#principals.values()];
  }

  /** The principal named `name` (the topic's client level), whoever it is; undefined if unknown. */
  principal(name: string): Principal | undefined {
    return this.#principals.get(name) ?? this.functions.principal(name);
  }

  /**
   * Check a CONNECT. Resolves with the principal; rejects with ConnectRefused (its returnCode is
   * the CONNACK's). A client ID must be the principal's name or `name_suffix` (principal.ts).
   */
  async authenticate(attempt: ConnectAttempt): Promise<Principal> {
    const { clientId, username, password, certificateName } = attempt;
    let principal: Principal | undefined;
    if (username !== undefined && username !== '') {
      if (password === undefined) throw new ConnectRefused(ConnackCode.badCredentials, `no password for "${username}"`);
      const secret = password.toString('utf8');
      principal = this.functions.verify(username, secret);
      if (principal === undefined) {
        await this.refresh();
        const entry = this.#principals.get(username);
        // Verify against a real hash even for unknown users would hide who exists by timing; the
        // names are not secret here (they are topic levels), so an unknown user fails fast.
        if (entry?.password === undefined || !(await verifyPassword(secret, entry.password))) {
          throw new ConnectRefused(ConnackCode.badCredentials, `wrong username or password for "${username}"`);
        }
        principal = entry;
      }
      if (certificateName !== undefined && certificateName !== username) {
        throw new ConnectRefused(ConnackCode.notAuthorized, `client certificate names "${certificateName}", not "${username}"`);
      }
    } else if (certificateName !== undefined) {
      await this.refresh();
      const entry = this.#principals.get(certificateName);
      if (entry === undefined || !entry.certificate) {
        throw new ConnectRefused(ConnackCode.notAuthorized, `certificate "${certificateName}" is not a principal allowed to use one`);
      }
      principal = entry;
    } else {
      throw new ConnectRefused(ConnackCode.notAuthorized, 'anonymous connections are refused: pass a username and password or a client certificate');
    }
    if (!clientIdBelongsTo(clientId, principal.name)) {
      throw new ConnectRefused(
        ConnackCode.identifierRejected,
        `client ID "${clientId}" is not one of "${principal.name}"'s (its own name, or "${principal.name}_…")`,
      );
    }
    return principal;
  }

  /** May `principal` publish to `topic`? (docs/security.md §3.1) */
  canPublish(principal: Principal, topic: string): boolean {
    if (topic.startsWith('$')) return false;
    if (topic.startsWith(PREFIX)) {
      const own = principal.name;
      // Its own invoke, status and admin topics; admin by a non-operator reaches the gateway,
      // which answers AccessDenied (a typed error instead of a silent drop).
      return (
        topic.startsWith(`${PREFIX}invoke/${own}/`) || topic === `${PREFIX}status/${own}` || topic.startsWith(`${PREFIX}admin/${own}/`)
      );
    }
    if (topic === RESERVED_ROOT || topic.startsWith(`${RESERVED_ROOT}/`)) return false;
    // Functions feed each other through trigger topics on purpose (docs/protocol.md §11);
    // operators are trusted with any topic of the site's own.
    if (principal.role !== PrincipalRole.device) return true;
    return principal.publish.some((filter) => topicMatches(filter, topic));
  }

  /** May `principal` subscribe to `filter`? Its own reply topic, and what it was granted. */
  canSubscribe(principal: Principal, filter: string): boolean {
    const reply = `${PREFIX}reply/${principal.name}`;
    // Wildcards below its own reply topic stay inside it (MQTT 5 Response Topics, §8.5).
    if (filter === reply || filter.startsWith(`${reply}/`)) return true;
    if (filter.startsWith('$') || filter.startsWith('+') || filter.startsWith('#')) return false;
    if (filter === RESERVED_ROOT || filter.startsWith(`${RESERVED_ROOT}/`)) return false;
    return principal.subscribe.includes(filter) || (!/[+#]/.test(filter) && principal.subscribe.some((granted) => topicMatches(granted, filter)));
  }
}
