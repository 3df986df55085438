/**
 * `edgefc start --function-user`: the CLI passes it to the gateway, a bad value is refused, and
 * `off` (or a gateway that is not root) says in one line what is not contained.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { IS_ROOT } from '../fixtures/as-root.js';
import { runCli, startCliProcess, stopProcess, type CliProcess } from '../fixtures/cli-process.js';
import { traversableTempDir } from '../fixtures/temp-dirs.js';

describe('edgefc start --function-user', () => {
  let proc: CliProcess | undefined;
  let dir: string | undefined;
  afterEach(async () => {
    await stopProcess(proc);
    proc = undefined;
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it('refuses a value it cannot read (exit 1, InvalidArgument)', async () => {
    const { code, stderr } = await runCli(['start', '--function-user', 'uids:9-1', '--port', '0', '--skip-demo']);
    expect(code).toBe(1);
    expect(stderr).toMatch(/InvalidArgument: --function-user uids:9-1: the range must be FIRST-LAST/);
  });

  it('off: the gateway serves, and says once that functions are not contained', async () => {
    dir = await traversableTempDir('edgefc-cli-user-');
    proc = startCliProcess(['start', '--function-user', 'off', '--port', '0', '--data', join(dir, 'data'), '--skip-demo']);
    await proc.waitForOutput(/edgefc gateway ready on/);
    const who = IS_ROOT ? 'root \\(--function-user off\\)' : "this gateway's user, uid \\d+ \\(only a root gateway can give them users of their own\\)";
    expect(proc.output().match(new RegExp(`WARN functions run as ${who}: not contained`, 'g'))).toHaveLength(1);
  });
});
