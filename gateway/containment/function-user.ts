/**
 * Which users function processes run as (`GatewayOptions.functionUser`, `edgefc start
 * --function-user`). Only a root gateway can start processes as another user; a gateway that is
 * not root runs its functions as itself and says so at start (containment.ts).
 *
 * Ids are numeric: Node's spawn takes uid/gid numbers, so the per-function users need no
 * /etc/passwd entry, and nothing on the box has to be provisioned for a new function.
 */
import { readFileSync } from 'node:fs';
import { InvalidArgumentError } from 'edgefc/errors';

export type FunctionUserSetting =
  /** Root: one user per function, from DEFAULT_UID_RANGE. Not root: the gateway's own user. */
  | 'auto'
  /** The gateway's own user, even as root: nothing is contained (warned at start). */
  | 'off'
  /** One user per function from this range (uid = gid), stable per function (function-uids.ts). */
  | { uidRange: { first: number; last: number } }
  /** Every function as this one user: contained from the gateway, not from each other. */
  | { uid: number; gid: number };

/**
 * 65,536 ids from 2,000,000,000: inside what systemd's UID/GID map leaves unused
 * (1879048192–2147483646), so clear of regular users (1000–60000), DynamicUser= services
 * (61184–65519), the subordinate ranges useradd hands out (100000–600100000) and nspawn's
 * container ranges (524288–1879048191); below 2^31 for tools that keep a uid in a signed int.
 */
export const DEFAULT_UID_RANGE = { first: 2_000_000_000, last: 2_000_065_535 } as const;

/** uid_t is 32 bits and (uid_t)-1 means "unchanged" to setreuid(2): never hand it out. */
const MAX_ID = 0xffff_fffe;

/**
 * The CLI's spelling: `auto`, `off`, `uids:FIRST-LAST`, `UID[:GID]` or a user name from
 * /etc/passwd (its uid and primary gid).
 * @example parseFunctionUser('uids:3000000-3000999') // { uidRange: { first: 3000000, last: 3000999 } }
 */
export function parseFunctionUser(text: string, passwdFile = '/etc/passwd'): FunctionUserSetting {
  if (text === 'auto' || text === 'off') return text;
  const range = /^uids:(\d+)-(\d+)$/.exec(text);
  if (range !== null) {
    const first = Number(range[1]);
    const last = Number(range[2]);
    if (first < 1 || last > MAX_ID || first > last) {
      throw new InvalidArgumentError(`--function-user ${text}: the range must be FIRST-LAST with 1 <= FIRST <= LAST <= ${MAX_ID}`);
    }
    return { uidRange: { first, last } };
  }
  const ids = /^(\d+)(?::(\d+))?$/.exec(text);
  if (ids !== null) {
    const uid = Number(ids[1]);
    const gid = ids[2] === undefined ? uid : Number(ids[2]);
    checkId(text, uid);
    checkId(text, gid);
    return { uid, gid };
  }
  const user = lookUpUser(text, passwdFile);
  if (user === undefined) {
    throw new InvalidArgumentError(`--function-user ${text}: not auto, off, uids:FIRST-LAST, UID[:GID], nor a user in ${passwdFile}`);
  }
  checkId(text, user.uid);
  return user;
}

function checkId(text: string, id: number): void {
  // Root for functions would undo the point; ids past uid_t do not exist.
  if (id === 0 || id > MAX_ID) throw new InvalidArgumentError(`--function-user ${text}: ids must be 1-${MAX_ID} (not root)`);
}

/** `name:x:uid:gid:...` lines of passwd(5). */
function lookUpUser(name: string, passwdFile: string): { uid: number; gid: number } | undefined {
  let text: string;
  try {
    text = readFileSync(passwdFile, 'utf8');
  } catch {
    return undefined;
  }
  for (const line of text.split('\n')) {
    const [user, , uid, gid] = line.split(':');
    if (user === name && uid !== undefined && gid !== undefined && /^\d+$/.test(uid) && /^\d+$/.test(gid)) {
      return { uid: Number(uid), gid: Number(gid) };
    }
  }
  return undefined;
}

/** For log lines: `uids 2000000000-2000065535`, `uid 65534 gid 65534`. */
export function describeSetting(setting: Exclude<FunctionUserSetting, 'auto' | 'off'>): string {
  return 'uidRange' in setting
    ? `a user per function from uids ${setting.uidRange.first}-${setting.uidRange.last}`
    : `uid ${setting.uid} gid ${setting.gid} for every function`;
}
