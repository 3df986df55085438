/**
 * A gateway's stable identity where no Async store holds one (NATS mode keeps its calls in the
 * cluster, gateway/async/jetstream/): `<data>/gateway-id`, made once, kept across restarts, so
 * `edgefc cluster status` and `edgefc_gateway_info` name the same gateway after a restart.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { nanoid } from 'nanoid';

const ID = /^[A-Za-z0-9]{12}$/;

export function gatewayIdIn(dataDir: string): string {
  const file = join(dataDir, 'gateway-id');
  try {
    const kept = readFileSync(file, 'utf8').trim();
    if (ID.test(kept)) return kept;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  // The same alphabet as the Async store's id (async-store.ts): letters and digits only.
  const id = nanoid(12).replace(/[^A-Za-z0-9]/g, 'x');
  writeFileSync(file, `${id}\n`, { mode: 0o600 });
  return id;
}
