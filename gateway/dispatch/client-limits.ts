/**
 * Per-client limits on invocations (docs/protocol.md §7.5): how many calls one client ID (the
 * `{clientId}` level of the invoke topic, §2.1) may have in flight, and how fast it may send
 * them (a token bucket). Checked by the invoke handlers before a call is queued, so one device
 * cannot fill the function queues that every device shares; a refusal is `ResourceThrottled`,
 * answered at once like a full queue (§6.2).
 *
 * "In flight" is what the client waits on: a Sync call until its outcome, an Async call until
 * it is accepted (stored, §10.1); after that its durable queue bounds it (§10.6). A Sync retry
 * that joins its running call (§10.2) counts against the rate but takes no second slot.
 *
 * The table is bounded: a client's entry goes once it has nothing in flight and its bucket has
 * refilled (it then holds nothing a new entry would not), at the latest `capacity / perSecond`
 * after its last call, 2 s by default; past `maxIdleClients` entries, idle ones go oldest
 * first even before they refilled. Entries with calls in flight stay, and those are bounded by
 * the function queues. A flood of new client IDs therefore costs ~100 bytes per ID for 2 s.
 * (Each new ID starts with a full bucket: without broker ACLs binding client IDs to identities,
 * §2.5, a device can always spread its calls over many IDs; these limits stop the honest-but-
 * runaway client, the ACL stops the impostor.)
 */
import { performance } from 'node:perf_hooks';
import { ResourceThrottledError } from 'edgefc/errors';
import { TokenBucket } from '../token-bucket.js';

export interface ClientLimitOptions {
  /**
   * Sync and Async calls one client may have in flight.
   * @default 1000
   */
  maxInFlight?: number;
  /**
   * Calls per second one client may sustain (the bucket's refill rate).
   * @default 40_000
   */
  callsPerSecond?: number;
  /**
   * Calls one client may send at once after an idle spell (the bucket's capacity).
   * @default 80_000
   */
  burst?: number;
  /**
   * Idle clients (nothing in flight) whose entries are kept at most; past it the least recently
   * seen go first.
   * @default 10_000
   */
  maxIdleClients?: number;
}

/**
 * 1,000 in flight: ~4x the most the bench keeps in flight from one client (256, Async intake);
 * a single client needing more is a gateway of its own. 40,000 calls/s with a burst of
 * 80,000: ~2x the most one client reached in the bench (21,498 Sync req/s, embedded broker,
 * `isolation: none`, 64 in flight on one connection; Async intake up to ~20,000/s), so the
 * defaults never throttle a client the gateway could serve at full speed; they stop a runaway
 * client from taking every queue slot. Lower them per deployment (GatewayOptions.clientLimits).
 */
export const DEFAULT_CLIENT_LIMITS: Required<ClientLimitOptions> = {
  maxInFlight: 1000,
  callsPerSecond: 40_000,
  burst: 80_000,
  maxIdleClients: 10_000,
};

/** How often the table is swept for entries that can go (amortized over calls, no timer). */
const SWEEP_INTERVAL_MS = 1000;

interface ClientEntry {
  bucket: TokenBucket;
  inFlight: number;
}

export class ClientLimits {
  readonly #limits: Required<ClientLimitOptions>;
  readonly #now: () => number;
  /** In order of last admission (re-inserted on each), so the front is the least recently seen. */
  readonly #clients = new Map<string, ClientEntry>();
  #idle = 0;
  #lastSweep: number;

  /** @param now milliseconds, monotonic by default (a wall clock stepping back would only slow the refill) */
  constructor(options: ClientLimitOptions = {}, now: () => number = () => performance.now()) {
    this.#limits = { ...DEFAULT_CLIENT_LIMITS, ...options };
    this.#now = now;
    this.#lastSweep = now();
  }

  /** Entries held now (tests and stats). */
  get size(): number {
    return this.#clients.size;
  }

  /**
   * Count one request of `clientId` against its rate and, when it starts a call (`startsCall`;
   * false for a Sync retry that joins its running call), take one of the client's in-flight
   * slots. Returns the function that gives the slot back (once, however often it is called).
   * Throws ResourceThrottledError, taking nothing, when the client already has `maxInFlight`
   * calls in flight or is over its rate.
   */
  admit(clientId: string, requestId: string, startsCall = true): () => void {
    const now = this.#now();
    const entry = this.#entry(clientId, now);
    const { maxInFlight, callsPerSecond, burst } = this.#limits;
    if (startsCall && entry.inFlight >= maxInFlight) {
      throw new ResourceThrottledError(
        `client ${clientId} has ${entry.inFlight} calls in flight, the most one client may; retry when one has finished`,
        { requestId },
      );
    }
    if (!entry.bucket.take(1, now)) {
      throw new ResourceThrottledError(`client ${clientId} is over its rate of ${callsPerSecond} calls/s (burst ${burst}); retry later`, {
        requestId,
      });
    }
    if (!startsCall) return noop;
    if (entry.inFlight === 0) this.#idle -= 1;
    entry.inFlight += 1;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      entry.inFlight -= 1;
      // A busy entry is never swept, so this is still the table's entry for the client.
      if (entry.inFlight === 0) this.#idle += 1;
    };
  }

  /** The client's entry, moved to the back of the table (most recently seen). */
  #entry(clientId: string, now: number): ClientEntry {
    let entry = this.#clients.get(clientId);
    if (entry !== undefined) {
      this.#clients.delete(clientId);
    } else {
      entry = { bucket: new TokenBucket(this.#limits.callsPerSecond, this.#limits.burst, now), inFlight: 0 };
      this.#idle += 1;
    }
    this.#clients.set(clientId, entry);
    if (now - this.#lastSweep >= SWEEP_INTERVAL_MS || this.#idle > this.#limits.maxIdleClients) this.#sweep(now, entry);
    return entry;
  }

  /**
   * Drop entries with nothing in flight whose bucket has refilled; and, while more than 90 % of
   * `maxIdleClients` idle entries remain, the least recently seen idle ones. The 10 % of room
   * this makes means a flood of new client IDs pays one sweep (O(table)) per 1,000 new IDs at
   * the default, not one per ID. `keep` (the entry being used) stays.
   */
  #sweep(now: number, keep: ClientEntry): void {
    this.#lastSweep = now;
    const keepIdle = Math.floor(this.#limits.maxIdleClients * 0.9);
    for (const [clientId, entry] of this.#clients) {
      if (entry === keep || entry.inFlight > 0) continue;
      if (this.#idle > keepIdle || entry.bucket.isFull(now)) {
        this.#clients.delete(clientId);
        this.#idle -= 1;
      }
    }
  }
}

function noop(): void {}
