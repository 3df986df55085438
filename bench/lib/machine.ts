/** The machine a run was measured on: results without it cannot be compared. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { createRequire } from 'node:module';
import { mosquittoVersion } from './mosquitto.js';

export interface MachineInfo {
  date: string;
  cpuModel: string;
  cpuCount: number;
  memoryGB: number;
  kernel: string;
  node: string;
  mosquitto: string;
  mqttJs: string;
  aedes: string;
  gitCommit: string;
  /** 1-minute load average when the run started: above ~0.5 on 2 cores, other work was running. */
  loadAverageAtStart: number;
  loadAverageAtEnd?: number;
}

function packageVersion(name: string): string {
  try {
    // Not require(`${name}/package.json`): packages with an "exports" map (aedes) hide it.
    const entry = createRequire(import.meta.url).resolve(name);
    const root = entry.slice(0, entry.lastIndexOf(`/node_modules/${name}/`) + `/node_modules/${name}/`.length);
    return (JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

function gitCommit(): string {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    return dirty === '' ? head : `${head}+uncommitted`;
  } catch {
    return 'unknown';
  }
}

export function machineInfo(): MachineInfo {
  const cpuList = cpus();
  return {
    date: new Date().toISOString(),
    cpuModel: cpuList[0]?.model.trim() ?? 'unknown',
    cpuCount: cpuList.length,
    memoryGB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    kernel: release(),
    node: process.version,
    mosquitto: mosquittoVersion() ?? 'not installed',
    mqttJs: packageVersion('mqtt'),
    aedes: packageVersion('aedes'),
    gitCommit: process.env['BENCH_GIT_COMMIT'] ?? gitCommit(),
    loadAverageAtStart: Math.round((loadavg()[0] ?? 0) * 100) / 100,
  };
}
