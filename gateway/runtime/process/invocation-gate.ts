/**
 * What every runtime's instance does around each call, in one place: refuse a call on an
 * instance that is not usable (with the reason it failed, else "stopping"), and count the call as
 * in flight while it runs, so the pool never gives a busy instance more than its share.
 */
import { ServiceUnavailableError } from 'edgefc/errors';
import type { InstanceConfig } from '../types.js';
import type { FailureReason } from './instance-errors.js';

/** How errors and logs name an instance: `Service/function instance <id>`. */
export function instanceName(config: InstanceConfig, id: string): string {
  return `${config.fn.serviceName}/${config.fn.name} instance ${id}`;
}

export class InvocationGate {
  readonly #name: string;
  #inFlight = 0;

  constructor(name: string) {
    this.#name = name;
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  /** Run `call` counted in flight, or reject at once when `usable` is false. */
  pass<T>(usable: boolean, failure: FailureReason | undefined, requestId: string, call: () => Promise<T>): Promise<T> {
    if (!usable) {
      const reason = failure ?? ((id) => new ServiceUnavailableError(`${this.#name} is stopping`, { requestId: id }));
      return Promise.reject(reason(requestId));
    }
    this.#inFlight += 1;
    return call().finally(() => {
      this.#inFlight -= 1;
    });
  }
}
