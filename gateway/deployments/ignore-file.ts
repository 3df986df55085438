/**
 * `.edgefcignore` (docs/protocol.md §9.9): which files `edgefc deploy` leaves out of a bundle, in
 * the .gitignore syntax people already know. Supported: blank lines and `#` comments, `!`
 * negation (the last matching line wins), a trailing `/` (directories only), a `/` at the start
 * or in the middle (anchored to the template's directory; otherwise the name matches at any
 * depth), `*`, `?`, `[...]` and `**`. `node_modules` is packed unless a line leaves it out.
 */

interface Rule {
  negate: boolean;
  dirOnly: boolean;
  regex: RegExp;
}

export const IGNORE_FILE = '.edgefcignore';

export class IgnoreRules {
  readonly #rules: Rule[];

  constructor(text: string) {
    this.#rules = [];
    for (const raw of text.split(/\r?\n/)) {
      let line = raw.replace(/(?<!\\)\s+$/, '');
      if (line === '' || line.startsWith('#')) continue;
      const negate = line.startsWith('!');
      if (negate) line = line.slice(1);
      if (line.startsWith('\\')) line = line.slice(1);
      const dirOnly = line.endsWith('/');
      if (dirOnly) line = line.slice(0, -1);
      const anchored = line.includes('/');
      if (line.startsWith('/')) line = line.slice(1);
      if (line === '') continue;
      const body = globToRegex(line);
      this.#rules.push({ negate, dirOnly, regex: new RegExp(anchored ? `^${body}$` : `^(?:.*/)?${body}$`) });
    }
  }

  /**
   * `path`: relative to the template's directory, `/`-separated. A file under an ignored
   * directory is ignored too (callers walk top-down and do not enter it).
   */
  ignores(path: string, isDir: boolean): boolean {
    let ignored = false;
    for (const rule of this.#rules) {
      if (rule.dirOnly && !isDir) continue;
      if (rule.regex.test(path)) ignored = !rule.negate;
    }
    return ignored;
  }
}

function globToRegex(glob: string): string {
  let out = '';
  for (let i = 0; i < glob.length; i += 1) {
    const c = glob[i] as string;
    if (c === '*') {
      if (glob[i + 1] === '*') {
        // `**/` any number of directories (none included); a trailing `**` everything below.
        if (glob[i + 2] === '/') {
          out += '(?:.*/)?';
          i += 2;
        } else {
          out += '.*';
          i += 1;
        }
      } else {
        out += '[^/]*';
      }
    } else if (c === '?') {
      out += '[^/]';
    } else if (c === '[') {
      const end = glob.indexOf(']', i + 1);
      if (end === -1) {
        out += '\\[';
      } else {
        const set = glob.slice(i + 1, end).replace(/\\/g, '\\\\');
        out += `[${set.startsWith('!') ? `^${set.slice(1)}` : set}]`;
        i = end;
      }
    } else if (c === '\\' && i + 1 < glob.length) {
      out += escapeRegex(glob[i + 1] as string);
      i += 1;
    } else {
      out += escapeRegex(c);
    }
  }
  return out;
}

function escapeRegex(c: string): string {
  return c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}
