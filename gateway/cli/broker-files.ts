/**
 * Files for a broker that runs as another user: Mosquitto started as root drops to user
 * `mosquitto` before it reads its password and ACL files (and again on every SIGHUP reload), so
 * they must be readable by that group and by nobody else: `root:mosquitto 0640`, as Debian's own
 * /etc/mosquitto files are. When the group cannot be given (no such group, or this user is not
 * root and not in it), the file stays `0600` for a Mosquitto running as this same user, and the
 * caller prints what to run.
 */
import { chmod, chown, mkdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomically } from '../security/private-file.js';

export interface WrittenFile {
  path: string;
  mode: number;
  /** The group name when the file is readable by it; undefined when only its owner can read it. */
  group: string | undefined;
}

/** The gid of `name` in /etc/group; undefined when there is no such local group. */
export async function localGroupId(name: string): Promise<number | undefined> {
  const text = await readFile('/etc/group', 'utf8').catch(() => '');
  for (const line of text.split('\n')) {
    const [group, , gid] = line.split(':');
    if (group === name && gid !== undefined && /^\d+$/.test(gid)) return Number(gid);
  }
  return undefined;
}

/** Make `dir` (0750; given to `group` when it is new) if it does not exist. */
export async function ensureBrokerDir(dir: string, group: { name: string; gid: number } | undefined): Promise<void> {
  const created = await mkdir(dir, { recursive: true, mode: 0o750 });
  if (created === undefined || group === undefined) return;
  await chown(dir, process.getuid?.() ?? -1, group.gid).catch(() => undefined);
  await chmod(dir, 0o750);
}

/** Write `dir/name` atomically: 0640 and group `group` when it can be given, else 0600. */
export async function writeBrokerFile(dir: string, name: string, text: string, group: { name: string; gid: number } | undefined): Promise<WrittenFile> {
  const path = join(dir, name);
  let grouped = false;
  const mode = await writeFileAtomically(path, text, async (temp) => {
    if (group !== undefined) {
      // A setgid directory of that group already gave it; otherwise root (or a member) can.
      grouped = (await stat(temp)).gid === group.gid || (await chown(temp, process.getuid?.() ?? -1, group.gid).then(() => true, () => false));
    }
    return grouped ? 0o640 : 0o600;
  });
  return { path, mode, group: grouped ? group?.name : undefined };
}
