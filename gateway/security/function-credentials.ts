/**
 * Broker credentials for hosted function instances (docs/security.md §4): each instance gets its
 * own principal `fn-XXXXXXXXXX` and a random password when it starts, handed to it in its
 * environment (EDGEFC_USERNAME / EDGEFC_PASSWORD, read by `new FCClient()`) and in FC's
 * `context.credentials` shape; both stop working when the instance stops.
 *
 * They never touch the disk: the embedded broker checks them in memory. 256 random bits, so they
 * need no slow hash; the stored digest is compared in constant time.
 *
 * On an external broker (`deriveFrom`), which cannot learn a login per instance, every instance of
 * a function gets its function's login instead: `fn-<hash of S/F>` and a password derived from
 * the gateway's secret (function-principals.ts), the one `edgefc broker-config` wrote for the
 * broker. Those names stay known for the gateway's lifetime: the broker accepts them for as long
 * as its files list them, so forgetting one here would only refuse calls the broker let through.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { customAlphabet } from 'nanoid';
import { deriveFunctionPassword, functionPrincipalName } from './function-principals.js';
import { PrincipalRole, type Principal } from './principal.js';

/** 10 of 36 characters: ~51 bits, so live instances' names never collide (and are not secret). */
const instanceSuffix = customAlphabet('0123456789abcdefghijklmnopqrstuvwxyz', 10);

export interface InstanceCredential {
  username: string;
  password: string;
}

interface Issued {
  principal: Principal;
  digest: Buffer;
}

export class FunctionCredentials {
  readonly #byName = new Map<string, Issued>();
  readonly #byInstance = new Map<string, string>();
  readonly #passwords = new Map<string, string>();
  /** Told the principal name of every revoked credential (the broker closes its connections). */
  onRevoke: (username: string) => void = () => undefined;
  #secret: Buffer | undefined;

  /** From now on, issue each function's derived login (external broker, docs/security.md §4). */
  deriveFrom(secret: Buffer): void {
    this.#secret = secret;
  }

  /** The credential of `instanceId` (made on first ask) for function `service/function`. */
  issue(instanceId: string, service: string, fn: string): InstanceCredential {
    if (this.#byInstance.has(instanceId)) this.revoke(instanceId);
    const secret = this.#secret;
    const username = secret === undefined ? `fn-${instanceSuffix()}` : functionPrincipalName(service, fn);
    const password = secret === undefined ? randomBytes(32).toString('base64url') : deriveFunctionPassword(secret, username);
    this.#byName.set(username, {
      principal: { name: username, role: PrincipalRole.function, groups: [], publish: [], subscribe: [], function: `${service}/${fn}` },
      digest: digest(password),
    });
    this.#byInstance.set(instanceId, username);
    this.#passwords.set(instanceId, password);
    return { username, password };
  }

  /** The credential issued for `instanceId`, if it is still live. */
  current(instanceId: string): InstanceCredential | undefined {
    const username = this.#byInstance.get(instanceId);
    const password = this.#passwords.get(instanceId);
    return username === undefined || password === undefined ? undefined : { username, password };
  }

  revoke(instanceId: string): string | undefined {
    const username = this.#byInstance.get(instanceId);
    if (username === undefined) return undefined;
    this.#byInstance.delete(instanceId);
    this.#passwords.delete(instanceId);
    // A derived login is its function's, shared by its other instances (see the top of this file).
    if (this.#secret !== undefined) return username;
    this.#byName.delete(username);
    this.onRevoke(username);
    return username;
  }

  /** The live principal `name`, if it is a function instance's. */
  principal(name: string): Principal | undefined {
    return this.#byName.get(name)?.principal;
  }

  /** The principal when `password` is this instance's; undefined otherwise. */
  verify(username: string, password: string): Principal | undefined {
    const issued = this.#byName.get(username);
    if (issued === undefined) return undefined;
    return timingSafeEqual(digest(password), issued.digest) ? issued.principal : undefined;
  }

  get size(): number {
    return this.#byName.size;
  }
}

function digest(password: string): Buffer {
  return createHash('sha256').update(password).digest();
}
