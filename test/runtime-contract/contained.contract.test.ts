/**
 * The whole contract again, every runtime, each function process running as a user of its own
 * (FunctionSpec.runAs, as a root gateway places functions: gateway/containment/): forks and
 * spawns get the uid and gid from libuv, a Node.js spare takes them on when it adopts the
 * function (child/adopt-function.ts), and the runtime API admits only that uid's connections
 * (runtime-api/peer-check.ts). Nothing a function may do may depend on running as root.
 */
import { tmpdir } from 'node:os';
import { describe } from 'vitest';
import { rootTitle, runsAsRoot } from '../fixtures/as-root.js';
import { defineContract } from './contract.js';
import { targets } from './targets.js';

/** A uid no one else uses on a test box: from the gateway's default range's far end. */
const UID = 2_000_060_001;

describe.skipIf(!runsAsRoot('contract as own user'))(rootTitle('every runtime, as a user of its own'), () => {
  for (const target of targets) {
    defineContract({
      ...target,
      name: `${target.name}, as uid ${UID}`,
      spec: { ...target.spec, runAs: { uid: UID, gid: UID, home: tmpdir() } },
    }, { timing: false });
  }
});
