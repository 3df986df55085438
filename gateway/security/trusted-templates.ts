/**
 * `deploy` never loads an arbitrary path named in a request (docs/protocol.md §9.7): the template
 * must resolve, symlinks followed, to a file inside one of the directories the gateway was told
 * to trust (`--trusted-templates DIR`, default: the directory of the template it started with).
 */
import { realpath } from 'node:fs/promises';
import { sep } from 'node:path';
import { AccessDeniedError, InvalidArgumentError } from 'edgefc/errors';

export async function assertTrustedTemplate(path: string, trustedDirs: readonly string[]): Promise<string> {
  let real: string;
  try {
    real = await realpath(path);
  } catch (cause) {
    throw new InvalidArgumentError(`cannot read template ${path}: ${(cause as NodeJS.ErrnoException).code ?? String(cause)}`, { cause });
  }
  for (const dir of trustedDirs) {
    const trusted = await realpath(dir).catch(() => undefined);
    if (trusted !== undefined && real.startsWith(trusted.endsWith(sep) ? trusted : `${trusted}${sep}`)) return real;
  }
  throw new AccessDeniedError(`template ${path} is outside the directories this gateway trusts for deploys (${trustedDirs.join(', ')}; --trusted-templates)`);
}
