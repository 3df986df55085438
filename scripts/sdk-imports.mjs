#!/usr/bin/env node
/**
 * Rewrites relative imports of the SDK's sources (`../src/protocol/topics.js`) in the gateway
 * and benchmark code into the SDK package's names (`edgefc/protocol`, `edgefc/errors`, ...): the gateway package
 * depends on the `edgefc` package, never on files of src/ (docs/architecture.md, "Packages";
 * eslint.config.js refuses the relative form in gateway/ and bench/).
 *
 *   node scripts/sdk-imports.mjs            # rewrite gateway/ and bench/ in place
 *   node scripts/sdk-imports.mjs --check    # only list what would change; exit 1 if anything would
 *   node scripts/sdk-imports.mjs DIR|FILE…  # other places (tests keep relative imports: their choice)
 *
 * Idempotent: a file already on package names is left as it is, so it can run again after
 * merging code written against the old layout. A file of src/ that no subpath export carries is
 * an error naming it: export it deliberately (src/package.json "exports" + the barrel), then add
 * it to SUBPATH_OF below.
 */
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const SRC = join(ROOT, 'src');

/** Which package name carries each file of src/ (paths relative to src/, compiled names). */
const SUBPATH_OF = {
  'index.js': 'edgefc',
  'client/fc-client.js': 'edgefc',
  // The narrow names first: `edgefc` loads FCClient and with it mqtt, which a function process
  // (the Node.js runner imports the error classes) should not load for nothing.
  'errors.js': 'edgefc/errors',
  'client/options.js': 'edgefc/client',
  'client/index.js': 'edgefc/client',
  'client/request-channel.js': 'edgefc/request-channel',
};
/** Whole directories whose barrel (`index.ts`) re-exports every file. */
const SUBPATH_OF_DIR = { protocol: 'edgefc/protocol', mqtt: 'edgefc/mqtt' };

// `from '…'`, `import '…'`, `import('…')`, `export … from '…'`; a relative specifier into src/.
const SPECIFIER = /(\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)(['"])(\.{1,2}\/[^'"\n]*)\2/g;

function packageNameFor(file, specifier) {
  const target = resolve(dirname(file), specifier);
  if (target !== SRC && !target.startsWith(SRC + sep)) return undefined;
  const inSrc = relative(SRC, target).split(sep).join('/');
  const direct = SUBPATH_OF[inSrc];
  if (direct !== undefined) return direct;
  const [dir, ...rest] = inSrc.split('/');
  if (rest.length === 1 && dir !== undefined && SUBPATH_OF_DIR[dir] !== undefined) {
    // A file added to src/protocol/ or src/mqtt/ after the barrel was written: say so, rather
    // than leave an import of a name the package does not export.
    const barrel = readFileSync(join(SRC, dir, 'index.ts'), 'utf8');
    if (!barrel.includes(`'./${rest[0]}'`)) {
      throw new Error(`${relative(ROOT, file)}: src/${inSrc} is not re-exported by src/${dir}/index.ts: add export * from './${rest[0]}'; there`);
    }
    return SUBPATH_OF_DIR[dir];
  }
  throw new Error(`${relative(ROOT, file)}: src/${inSrc} is not part of any export of the edgefc package (see the header of scripts/sdk-imports.mjs)`);
}

export function rewrite(file, text) {
  return text.replace(SPECIFIER, (whole, lead, quote, specifier) => {
    const name = packageNameFor(file, specifier);
    return name === undefined ? whole : `${lead}${quote}${name}${quote}`;
  });
}

function* sourceFiles(path) {
  const stat = statSync(path);
  if (stat.isFile()) {
    if (/\.(c|m)?ts$/.test(path) && !path.endsWith('.d.ts')) yield path;
    return;
  }
  for (const entry of readdirSync(path, { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name === 'dist') continue;
    yield* sourceFiles(join(path, entry.name));
  }
}

function main(argv) {
  const check = argv.includes('--check');
  const targets = argv.filter((arg) => arg !== '--check');
  const roots = (targets.length > 0 ? targets : ['gateway', 'bench']).map((path) => resolve(ROOT, path));
  let changed = 0;
  for (const root of roots) {
    for (const file of sourceFiles(root)) {
      const before = readFileSync(file, 'utf8');
      const after = rewrite(file, before);
      if (after === before) continue;
      changed += 1;
      console.log(`${check ? 'would rewrite' : 'rewrote'} ${relative(ROOT, file)}`);
      if (!check) writeFileSync(file, after);
    }
  }
  console.log(`${changed} file(s) ${check ? 'to rewrite' : 'rewritten'}`);
  return check && changed > 0 ? 1 : 0;
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    process.exitCode = main(process.argv.slice(2));
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
    process.exitCode = 2;
  }
}
