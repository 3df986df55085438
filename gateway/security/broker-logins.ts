/**
 * What every generated broker configuration (Mosquitto, nats-server) checks before it is
 * written: one login name, one owner. The gateway's login, each function's and each principal's
 * of the access file share the broker's user namespace, so a principal named like a function's
 * login would take its permissions.
 */
import { InvalidArgumentError } from 'edgefc/errors';

export interface BrokerLoginOwners {
  gateway: { name: string };
  functions: readonly { name: string; function: string }[];
  principals: readonly { name: string; role: string }[];
}

/** Throws InvalidArgument naming the first login two owners would share. */
export function assertDistinctLogins(input: BrokerLoginOwners, broker: 'broker' | 'NATS'): void {
  const owners = new Map<string, string>();
  const claim = (name: string, who: string): void => {
    const other = owners.get(name);
    if (other !== undefined) throw new InvalidArgumentError(`the ${broker} login "${name}" would be both ${other} and ${who}: rename the access file's principal`);
    owners.set(name, who);
  };
  claim(input.gateway.name, 'the gateway');
  for (const fn of input.functions) claim(fn.name, `function ${fn.function}`);
  for (const entry of input.principals) claim(entry.name, `the access file's ${entry.role}`);
}

/** The values once each, in their first order. */
export function unique(values: readonly string[]): string[] {
  return [...new Set(values)];
}
