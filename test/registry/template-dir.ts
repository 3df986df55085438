/**
 * Real template files in a fresh temp directory per test: the loader's file checks (codeUri,
 * handler files) run against the disk as they do in production.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

export interface TemplateDir {
  dir: string;
  /** Writes `template.yml` (or `name`) and returns its absolute path. */
  template(text: string, name?: string): Promise<string>;
  /** Writes a file under the directory, creating parents. */
  file(relPath: string, text?: string): Promise<string>;
  remove(): Promise<void>;
}

export async function makeTemplateDir(): Promise<TemplateDir> {
  const dir = await mkdtemp(path.join(tmpdir(), 'edgefc-registry-'));
  const file = async (relPath: string, text = 'exports.handler = (e, c, cb) => cb(null, "ok");\n'): Promise<string> => {
    const target = path.join(dir, relPath);
    await mkdir(path.dirname(target), { recursive: true });
    await writeFile(target, text);
    return target;
  };
  return {
    dir,
    template: (text, name = 'template.yml') => file(name, text),
    file,
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}

/** Lines of YAML without the leading indentation the test source adds. */
export function yaml(strings: TemplateStringsArray, ...values: unknown[]): string {
  const text = String.raw({ raw: strings }, ...values);
  const lines = text.replace(/^\n/, '').split('\n');
  const indent = Math.min(...lines.filter((l) => l.trim() !== '').map((l) => /^ */.exec(l)?.[0].length ?? 0));
  return lines.map((l) => l.slice(indent)).join('\n');
}
