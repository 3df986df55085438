/**
 * deploy/edgefc.service and deploy/Containerfile (docs/operations.md), checked as far as this
 * machine allows: systemd's own verifier on the unit (and on a broken copy, to show it would
 * catch one), the hardening it must keep, and, as root, the gateway started under exactly the
 * unit's capability bounding set running a function as its own user. The Containerfile cannot
 * be built here (no container daemon); its structure is checked instead.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runsAsRoot, rootTitle } from '../fixtures/as-root.js';
import { CLI, startCliProcess, stopProcess, type CliProcess } from '../fixtures/cli-process.js';
import { traversableTempDir } from '../fixtures/temp-dirs.js';
import { SAMPLE_TEMPLATE } from '../../gateway/package-root.js';

const ROOT = new URL('../../', import.meta.url).pathname;
const UNIT = join(ROOT, 'deploy', 'edgefc.service');
const CONTAINERFILE = join(ROOT, 'deploy', 'Containerfile');

/** `Key=value` lines of one section of a unit file; repeated keys keep every value. */
function unitSection(text: string, section: string): Map<string, string[]> {
  const keys = new Map<string, string[]>();
  let current = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const header = /^\[(.+)\]$/.exec(line);
    if (header !== null) {
      current = header[1]!;
      continue;
    }
    if (current !== section) continue;
    const eq = line.indexOf('=');
    if (eq === -1) throw new Error(`not a Key=value line in [${current}]: ${line}`);
    const key = line.slice(0, eq);
    keys.set(key, [...(keys.get(key) ?? []), line.slice(eq + 1)]);
  }
  return keys;
}

const unitText = readFileSync(UNIT, 'utf8');
const service = unitSection(unitText, 'Service');
const last = (key: string): string | undefined => service.get(key)?.at(-1);

/** The capabilities containment uses (see the unit's header for why each). */
const CAPABILITIES = ['CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FOWNER', 'CAP_KILL', 'CAP_SETGID', 'CAP_SETUID'];

// Debian's systemd package has it (this kind of machine, CI included): in CI a missing one fails
// the test instead of skipping it.
const systemdAnalyze = spawnSync('systemd-analyze', ['--version']).status === 0 || (process.env['CI'] ?? '') !== '';

describe('deploy/edgefc.service', () => {
  it.runIf(systemdAnalyze)('passes systemd-analyze verify without a warning; a broken copy does not', () => {
    const verify = (file: string): string => {
      const run = spawnSync('systemd-analyze', ['verify', file], { encoding: 'utf8' });
      return `${run.status === 0 ? '' : `exit ${run.status}\n`}${run.stderr}`.trim();
    };
    expect(verify(UNIT)).toBe('');
    // The verifier reports unknown keys and bad values on stderr (exit 0): show that it reads ours.
    const brokenDir = mkdtempSync(join(tmpdir(), 'edgefc-unit-'));
    const broken = join(brokenDir, 'edgefc-broken.service');
    writeFileSync(broken, unitText.replace('ProtectSystem=strict', 'ProtectSystem=strictest').replace('NoNewPrivileges=', 'NoNewPrivilege='));
    try {
      const warnings = verify(broken);
      expect(warnings).toMatch(/protect system value/i);
      expect(warnings).toMatch(/Unknown key.*NoNewPrivilege/);
    } finally {
      rmSync(brokenDir, { recursive: true, force: true });
    }
  });

  it('keeps the hardening: read-only system but the data directory, private /tmp and devices, no new privileges', () => {
    expect(last('ProtectSystem')).toBe('strict');
    expect(service.get('ReadWritePaths')?.join(' ').split(/\s+/)).toContain('/var/lib/edgefc');
    expect(last('StateDirectory')).toBe('edgefc');
    expect(last('StateDirectoryMode')).toBe('0711');
    for (const key of ['ProtectHome', 'PrivateTmp', 'PrivateDevices', 'NoNewPrivileges', 'RestrictSUIDSGID', 'ProtectKernelTunables',
      'ProtectKernelModules', 'ProtectKernelLogs', 'ProtectControlGroups', 'ProtectClock', 'ProtectHostname', 'RestrictNamespaces',
      'RestrictRealtime', 'LockPersonality']) {
      expect(last(key), key).toBe('yes');
    }
    expect(last('SystemCallFilter')).toBe('@system-service');
    expect(last('UMask')).toBe('0077');
    // The gateway writes only where ReadWritePaths lets it: its --data must be that directory.
    expect(last('ExecStart')).toMatch(/ --data \/var\/lib\/edgefc( |$)/);
  });

  it('runs as root with the six capabilities containment uses, none in the ambient set; nothing that breaks Node or containment', () => {
    // Containment switches users only when geteuid() is 0 (gateway/containment/containment.ts).
    expect(last('User') ?? 'root').toBe('root');
    expect(last('CapabilityBoundingSet')?.split(/\s+/).sort()).toEqual(CAPABILITIES);
    expect(last('AmbientCapabilities') ?? '').toBe('');
    // V8's JIT needs W+X pages; the gateway reads /proc/PID/status of other users' processes.
    expect(service.has('MemoryDenyWriteExecute')).toBe(false);
    expect(last('ProtectProc') ?? 'default').not.toBe('invisible');
    // A secure-bits "noroot" would leave uid 0 without the capabilities at exec.
    expect(last('SecureBits') ?? '').not.toMatch(/noroot/);
  });
});

const hasSetpriv = spawnSync('setpriv', ['--version']).status === 0;

describe.skipIf(!hasSetpriv || !runsAsRoot('unit capabilities'))(rootTitle('the unit\'s capability bounding set, for real'), () => {
  let proc: CliProcess | undefined;
  let dir: string | undefined;

  afterEach(async () => {
    await stopProcess(proc);
    proc = undefined;
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it('a root gateway with only those capabilities stages code and runs a function as its own user', async () => {
    dir = await traversableTempDir('edgefc-caps-');
    const bounding = ['-all', ...CAPABILITIES.map((cap) => `+${cap.slice(4).toLowerCase()}`)].join(',');
    proc = startCliProcess(['start', '--template', SAMPLE_TEMPLATE, '--demo', '--data', join(dir, 'data'), '--port', '0', '--insecure'], [
      'setpriv', '--bounding-set', bounding, '--inh-caps', '-all', process.execPath, CLI,
    ]);
    // The demo call at start runs the helloworld sample, in a process of its own user.
    await proc.waitForOutput(/first invocation: EdgeFC\/helloworld -> "Hello from edgefc helloworld"/);
    expect(proc.output()).toMatch(/functions contained/);
    const gatewayPid = proc.child.pid!;
    const status = readFileSync(`/proc/${gatewayPid}/status`, 'utf8');
    // setpriv execs the CLI in place: the pid is the gateway's, and its bounding set is the unit's six.
    expect(/CapBnd:\s+([0-9a-f]+)/.exec(status)?.[1]).toBe('00000000000000eb');
    const children = execFileSync('ps', ['-o', 'uid=', '--ppid', String(gatewayPid)], { encoding: 'utf8' }).trim().split(/\s+/).map(Number);
    expect(children.some((uid) => uid > 0)).toBe(true);
  });
});

describe('deploy/Containerfile', () => {
  const text = readFileSync(CONTAINERFILE, 'utf8');
  const instructions = text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
  const stages = instructions.reduce<string[][]>((all, line) => {
    if (/^FROM /i.test(line)) all.push([]);
    all.at(-1)?.push(line);
    return all;
  }, []);

  it('builds on Debian Node 20 in two stages: npm ci and the build as the unprivileged node user', () => {
    expect(stages).toHaveLength(2);
    for (const stage of stages) expect(stage[0]).toMatch(/^FROM node:20-bookworm(-slim)?( AS \w+)?$/);
    const build = stages[0]!;
    const userAt = build.findIndex((line) => line === 'USER node');
    const ciAt = build.findIndex((line) => /^RUN npm ci\b/.test(line));
    expect(userAt).toBeGreaterThan(0);
    expect(ciAt).toBeGreaterThan(userAt);
    expect(build.some((line) => /npm run build/.test(line) && /npm prune --omit=dev/.test(line))).toBe(true);
    expect(instructions.some((line) => /npm install\b/.test(line))).toBe(false);
  });

  it('copies every path the package ships, and its entry point starts the gateway on the data volume', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { files: string[] };
    const runtime = stages[1]!;
    for (const path of pkg.files) {
      expect(runtime.some((line) => new RegExp(`^COPY (--from=build )?(/opt/edgefc/)?${path} \\./${path}$`).test(line)), path).toBe(true);
      expect(existsSync(join(ROOT, path)) || path === 'dist', path).toBe(true);
    }
    expect(runtime).toContain('VOLUME ["/var/lib/edgefc"]');
    expect(runtime).toContain('ENTRYPOINT ["node", "/opt/edgefc/bin/edgefc.js"]');
    const cmd = JSON.parse(runtime.find((line) => line.startsWith('CMD '))!.slice(4)) as string[];
    expect(cmd.slice(0, 3)).toEqual(['start', '--data', '/var/lib/edgefc']);
    expect(cmd).toContain('--host');
    // The runtime stage's user, stated, with the reason in the file and in docs/operations.md.
    expect(runtime).toContain('USER root');
  });
});
