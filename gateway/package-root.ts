/**
 * The gateway package's root directory (the repository root; the SDK, `edgefc`, is src/), found
 * from this file's location, so paths work the same from compiled `dist/` and from TypeScript
 * sources under the test runner.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The gateway package's name (package.json at the repository root). */
const GATEWAY_PACKAGE = 'edgefc-gateway';

function findRoot(start: string): string {
  let dir = start;
  for (;;) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest)) {
      const parsed = JSON.parse(readFileSync(manifest, 'utf8')) as { name?: unknown };
      if (parsed.name === GATEWAY_PACKAGE) return dir;
    }
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`cannot find the ${GATEWAY_PACKAGE} package root above ${start}`);
    dir = parent;
  }
}

export const PACKAGE_ROOT = findRoot(dirname(fileURLToPath(import.meta.url)));

/** The sample template `npm start` serves. */
export const SAMPLE_TEMPLATE = join(PACKAGE_ROOT, 'functions', 'template.yml');
