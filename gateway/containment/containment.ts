/**
 * Functions see only what is theirs (docs/runtime-node.md §10). At start and at every deploy the
 * gateway *places* each function that runs in a process of its own:
 *
 * 1. a user: one uid per function (gid = uid) from a range, stable (function-uids.ts), or one
 *    given user for all; every process of the function runs as it (gateway/runtime/process/run-as.ts,
 *    child/adopt-function.ts for Node.js spares), so it cannot read the gateway's /proc entries
 *    (environ, fd), nor another function's files or processes;
 * 2. its code: staged into `<data>/code/<uid>/<hash>`, readable by its group only
 *    (code-stager.ts, in a worker thread: stage-thread.ts); the placed spec's codeDir is that copy, so cwd, FC_FUNC_CODE_PATH, the
 *    handler, a go1 executable and a custom runtime's bootstrap all come from it;
 * 3. a home: `<data>/home/<uid>`, 0700, its HOME;
 * and the data directory is locked down around them (data-dir.ts).
 *
 * Only root can start a process as another user. A gateway that is not root (or told
 * `functionUser: 'off'`) places nothing and says once, at start, what is then not contained.
 * `isolation: none` functions run inside the gateway and are never placed.
 */
import { chmodSync, chownSync, existsSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve, sep } from 'node:path';
import { EdgeFCError, ServiceUnavailableError } from 'edgefc/errors';
import type { Logger } from '../logging/logger.js';
import { Isolation, type FunctionSpec, type RunAs, type Template } from '../registry/types.js';
import { prepareCodeRoot, removeUnusedCode, type StagedCode } from './code-stager.js';
import { CODE_DIR, HOME_DIR, lockDownDataDir, untraversableAncestor } from './data-dir.js';
import { DEFAULT_UID_RANGE, describeSetting, type FunctionUserSetting } from './function-user.js';
import { FunctionUids } from './function-uids.js';
import { readableByOthers, unreadablePaths } from './shared-paths.js';
import { stageInThread, type StageRequest } from './stage-thread.js';

export interface ContainmentOptions {
  dataDir: string;
  /** @default 'auto' */
  setting?: FunctionUserSetting;
  logger: Logger;
  /** Whether this process may switch users. @default process.geteuid() === 0 */
  isRoot?: boolean;
}

export class Containment {
  /** True when functions run as users of their own (root, and not `off`). */
  readonly active: boolean;
  readonly #dataDir: string;
  readonly #logger: Logger;
  readonly #setting: Exclude<FunctionUserSetting, 'auto' | 'off'> | undefined;
  readonly #uids: FunctionUids | undefined;

  private constructor(dataDir: string, logger: Logger, setting: Exclude<FunctionUserSetting, 'auto' | 'off'> | undefined) {
    this.#dataDir = dataDir;
    this.#logger = logger;
    this.#setting = setting;
    this.active = setting !== undefined;
    this.#uids = setting !== undefined && 'uidRange' in setting ? new FunctionUids(dataDir, setting.uidRange) : undefined;
  }

  /**
   * Decide who functions run as, lock the data directory down, and (when active) prepare the
   * code and home roots. Throws ServiceUnavailableError when the data directory cannot be
   * secured, or contained functions could not reach it.
   */
  static open(options: ContainmentOptions): Containment {
    const { logger } = options;
    // Absolute: staged paths become processes' cwd and FC_FUNC_CODE_PATH, and a spare resolves
    // a relative cwd against its own (/), not the gateway's.
    const dataDir = resolve(options.dataDir);
    const requested = options.setting ?? 'auto';
    const isRoot = options.isRoot ?? process.geteuid?.() === 0;
    let setting: Exclude<FunctionUserSetting, 'auto' | 'off'> | undefined;
    if (requested === 'off' || !isRoot) {
      // One line, naming what is then not contained (docs/runtime-node.md §10.1).
      const who = isRoot ? 'root (--function-user off)' : `this gateway's user, uid ${process.getuid?.() ?? '?'} (only a root gateway can give them users of their own)`;
      logger.warn(
        `functions run as ${who}: not contained — each can read the gateway's environment and open files (/proc/<pid>/environ, fd), the data directory (Async store, logs) and every function's code`,
      );
    } else if (requested === 'auto' && obstaclesToContainment(dataDir).length > 0) {
      // `auto` must not break a gateway installed where no other user can reach (a clone under
      // /root, 0700): it runs functions as root instead, and says why and how to contain them.
      // An explicit --function-user is held to it: start fails below instead.
      logger.warn(
        `functions run as root: not contained, because function users could not reach ${obstaclesToContainment(dataDir).join('; ')}. ` +
          'To contain them, make those paths traversable (chmod o+x) or readable by others, or install under /opt with --data /var/lib/edgefc (docs/runtime-node.md §10)',
      );
    } else {
      setting = requested === 'auto' ? { uidRange: DEFAULT_UID_RANGE } : requested;
    }
    const fail = (what: string, cause: unknown): ServiceUnavailableError =>
      new ServiceUnavailableError(`data directory ${dataDir}: ${what}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    let lockDown;
    try {
      lockDown = lockDownDataDir(dataDir, setting !== undefined);
    } catch (error) {
      throw fail('cannot create or write it (choose another with --data)', error);
    }
    if (lockDown.changed.length > 0) {
      logger.warn('data directory permissions tightened', {
        changes: lockDown.changed.length,
        paths: lockDown.changed.slice(0, 10).join('; ') + (lockDown.changed.length > 10 ? '; …' : ''),
      });
    }
    for (const note of lockDown.notes) logger.warn(note);
    if (setting === undefined) return new Containment(dataDir, logger, undefined);

    const blocked = untraversableAncestor(dataDir);
    if (blocked !== undefined) {
      throw new ServiceUnavailableError(
        `data directory ${dataDir}: functions run as their own users and reach their code through it, but ${blocked} is not traversable by them (no o+x): chmod o+x ${blocked}, choose another --data, or --function-user off`,
      );
    }
    const unreadable = unreadablePaths();
    if (unreadable.length > 0) {
      throw new ServiceUnavailableError(
        `function users cannot read what Node.js functions need (${unreadable.join('; ')}): make it readable by others, install elsewhere, or --function-user off`,
      );
    }
    let containment: Containment;
    try {
      containment = new Containment(dataDir, logger, setting);
      prepareCodeRoot(join(dataDir, CODE_DIR));
      mkdirSync(join(dataDir, HOME_DIR), { mode: 0o711, recursive: true });
      chmodSync(join(dataDir, HOME_DIR), 0o711);
    } catch (error) {
      throw error instanceof EdgeFCError ? error : fail('cannot prepare function code and homes', error);
    }
    logger.info('functions contained', { users: describeSetting(setting), code: join(dataDir, CODE_DIR) });
    return containment;
  }

  /**
   * The template with every process-isolated function given its user, staged code and home.
   * Unchanged when not active. Rejects with ServiceUnavailableError when code cannot be staged
   * (the deploy is refused; at start, the start fails).
   */
  async place(template: Template): Promise<Template> {
    const setting = this.#setting;
    if (setting === undefined) return template;
    const started = performance.now();
    const placed = template.functions.filter((fn) => fn.isolation !== Isolation.none);
    const uids = this.#uids?.assign(placed.map(functionKey));
    const userOf = (fn: FunctionSpec): { uid: number; gid: number } => {
      const uid = uids?.get(functionKey(fn)) ?? ('uid' in setting ? setting.uid : -1);
      return { uid, gid: 'gid' in setting ? setting.gid : uid };
    };
    // Functions sharing codeUri and user share one copy; functions sharing a user, one home.
    const jobs = new Map<string, StageRequest & { fn: FunctionSpec }>();
    for (const fn of placed) {
      const { uid, gid } = userOf(fn);
      const key = `${uid}\0${fn.codeDir}`;
      if (!jobs.has(key)) jobs.set(key, { fn, codeDir: fn.codeDir, codeRoot: join(this.#dataDir, CODE_DIR), uid, gid });
    }
    const outcomes = await stageInThread([...jobs.values()].map(({ fn: _fn, ...request }) => request));
    const staged = new Map<string, StagedCode>();
    [...jobs].forEach(([key, { fn }], index) => {
      const outcome = outcomes[index];
      if (outcome?.status !== 'fulfilled') {
        const reason = outcome?.reason instanceof Error ? outcome.reason.message : String(outcome?.reason);
        throw new ServiceUnavailableError(`could not stage the code of ${functionKey(fn)} from ${fn.codeDir}: ${reason}`, { cause: outcome?.reason });
      }
      staged.set(key, outcome.value);
      if (outcome.value.skipped.length > 0) {
        const more = outcome.value.skipped.length > 5 ? `; … ${outcome.value.skipped.length} in all` : '';
        this.#logger.warn('not staged: functions only see files inside their codeUri', {
          function: functionKey(fn),
          skipped: outcome.value.skipped.slice(0, 5).join('; ') + more,
        });
      }
    });
    const functions = template.functions.map((fn) => {
      if (fn.isolation === Isolation.none) return fn;
      const { uid, gid } = userOf(fn);
      const code = staged.get(`${uid}\0${fn.codeDir}`);
      return code === undefined ? fn : withStagedCode(fn, code, this.#home(uid, gid));
    });
    const runs = [...staged.values()];
    this.#logger.info('function code staged', {
      functions: placed.length,
      copied: runs.filter((run) => run.how === 'copied').length,
      reused: runs.filter((run) => run.how !== 'copied').length,
      bytes: runs.reduce((sum, run) => sum + run.bytes, 0),
      ms: Math.round(performance.now() - started),
    });
    // The staged copy is closed to other functions; the original is where the deployer put it.
    const open = [...new Set(template.functions.filter((fn) => fn.isolation !== Isolation.none).map((fn) => fn.codeDir))].filter(readableByOthers);
    if (open.length > 0) {
      this.#logger.warn('codeUri directories readable by every user: functions can read each other\'s code there, around their staged copies (keep templates and code in a directory closed to others, e.g. 0700)', {
        directories: open.slice(0, 5).join(' ') + (open.length > 5 ? ` … ${open.length} in all` : ''),
      });
    }
    const inProcess = template.functions.filter((fn) => fn.isolation === Isolation.none);
    if (inProcess.length > 0) {
      this.#logger.warn('isolation: none functions run inside the gateway process, as its user: not contained', {
        functions: inProcess.map(functionKey).join(' '),
      });
    }
    return { ...template, functions };
  }

  /**
   * Remove staged code that none of `served` (the registry's functions now) runs from. Only when
   * no instance of an earlier deploy can still be running (registry/deployer.ts).
   */
  async collect(served: readonly FunctionSpec[]): Promise<void> {
    if (!this.active) return;
    const keep = new Set(served.flatMap((fn) => (fn.runAs === undefined ? [] : [fn.codeDir])));
    const removed = await removeUnusedCode(join(this.#dataDir, CODE_DIR), keep);
    if (removed > 0) this.#logger.info('unused staged code removed', { versions: removed });
  }

  /** `<data>/home/<uid>`, made the user's (0700) if it is not yet: a few syscalls. */
  #home(uid: number, gid: number): RunAs {
    const home = join(this.#dataDir, HOME_DIR, String(uid));
    mkdirSync(home, { mode: 0o700, recursive: true });
    chownSync(home, uid, gid);
    chmodSync(home, 0o700);
    return { uid, gid, home };
  }
}

/** `Service/function`: the key of a function's uid. */
export function functionKey(fn: Pick<FunctionSpec, 'serviceName' | 'name'>): string {
  return `${fn.serviceName}/${fn.name}`;
}

/**
 * The spec with codeDir moved to the staged copy, and a custom runtime command inside codeUri
 * (`bootstrap`, `./server`; resolved to absolute paths when the template was checked) moved with
 * it. Commands found in PATH or elsewhere stay as they are.
 */
function withStagedCode(fn: FunctionSpec, staged: StagedCode, runAs: RunAs): FunctionSpec {
  const moved: FunctionSpec = { ...fn, codeDir: staged.dir, runAs };
  const command = fn.customRuntimeConfig?.command;
  const [program, ...rest] = command ?? [];
  if (fn.customRuntimeConfig !== undefined && program !== undefined && program.startsWith(fn.codeDir + sep)) {
    moved.customRuntimeConfig = { ...fn.customRuntimeConfig, command: [staged.dir + program.slice(fn.codeDir.length), ...rest] };
  }
  return moved;
}

/**
 * What would keep function users from their code (a data directory below a directory they cannot
 * traverse) or from what Node.js functions load (shared-paths.ts); empty when nothing does.
 */
function obstaclesToContainment(dataDir: string): string[] {
  let above = dirname(dataDir);
  while (!existsSync(above) && dirname(above) !== above) above = dirname(above);
  const blocked = untraversableAncestor(above);
  return [...(blocked === undefined ? [] : [`the data directory (${blocked} has no o+x)`]), ...unreadablePaths()];
}
