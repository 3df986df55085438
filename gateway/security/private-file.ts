/**
 * Files only the gateway's user may read (docs/security.md): the access file, the local operator
 * and gateway logins, the gateway secret. Written atomically with mode 0600 from the first byte;
 * read only when, like OpenSSH with a private key, no other user can read them and no other
 * user owns them.
 */
import { chmod, mkdir, open, readFile, rename, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ServiceUnavailableError } from 'edgefc/errors';

/**
 * The file's text; undefined when it does not exist. A file others can read, or that another
 * user owns, is refused with the error `refuse` makes (ServiceUnavailable unless told).
 */
export async function readPrivateFile(path: string, refuse: (message: string) => Error = (message) => new ServiceUnavailableError(message)): Promise<string | undefined> {
  let mode: number;
  let uid: number;
  try {
    ({ mode, uid } = await stat(path));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  if ((mode & 0o077) !== 0) {
    throw refuse(`${path} is readable by other users (mode ${(mode & 0o777).toString(8)}); refusing to use it: run "chmod 600 ${path}"`);
  }
  const own = process.getuid?.();
  if (own !== undefined && own !== 0 && uid !== own) throw refuse(`${path} belongs to another user (uid ${uid}); refusing to use it`);
  return readFile(path, 'utf8');
}

/** Create `path` (and its directory, 0700) holding `text`, mode 0600, replacing it atomically. */
export async function writeSecretFile(path: string, text: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  await writeFileAtomically(path, text, () => Promise.resolve(0o600));
}

/**
 * Write `text` to a temp file created 0600 (nobody else can read it at any moment), sync it, give
 * it the mode `finish` decides (after, say, a chown), and rename it over `path`.
 */
export async function writeFileAtomically(path: string, text: string, finish: (temp: string) => Promise<number>): Promise<number> {
  const temp = `${path}.${process.pid}.tmp`;
  const handle = await open(temp, 'w', 0o600);
  try {
    await handle.writeFile(text, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
  const mode = await finish(temp);
  await chmod(temp, mode); // open()'s mode is masked by the umask; make sure
  await rename(temp, path);
  return mode;
}
