/**
 * Summarize a V8 .cpuprofile (node --cpu-prof): self time by function and by package, as a share
 * of the busy (non-idle) time. `node dist/bench/lib/profile-summary.js <file>` prints it.
 */
import { readFile } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface ProfileSummary {
  totalMs: number;
  busyMs: number;
  byFunction: { name: string; selfMs: number; percent: number }[];
  byCategory: { category: string; selfMs: number; percent: number }[];
}

function category(url: string, functionName: string): string {
  if (url === '') {
    if (functionName === '(garbage collector)') return 'GC';
    if (functionName === '(idle)') return 'idle';
    if (functionName === '(program)') return 'V8/native (program)';
    return 'native';
  }
  const packages: [RegExp, string][] = [
    [/node_modules\/mqtt-packet\//, 'mqtt-packet'],
    [/node_modules\/mqtt\//, 'MQTT.js'],
    [/node_modules\/(aedes[^/]*|mqemitter|aedes-persistence|fastfall|fastparallel|fastseries|reusify|retimer|hyperid)\//, 'aedes'],
    [/node_modules\/p-queue\//, 'p-queue'],
    [/node_modules\/(readable-stream|bl|duplexify|process-nextick-args)\//, 'streams (npm)'],
    [/node_modules\//, 'other npm'],
    [/\/dist\/src\//, 'edgefc src/ (SDK, protocol)'],
    [/\/dist\/gateway\/transport\//, 'gateway/transport'],
    [/\/dist\/gateway\/dispatch\//, 'gateway/dispatch'],
    [/\/dist\/gateway\/runtime\//, 'gateway/runtime'],
    [/\/dist\/gateway\/broker\//, 'gateway/broker'],
    [/\/dist\/gateway\//, 'gateway (other)'],
    [/^node:(net|stream|internal\/streams)/, 'node: net/streams'],
    [/^node:(child_process|internal\/child_process)/, 'node: child_process IPC'],
    [/^node:internal\/(timers|process\/task_queues)|^node:timers/, 'node: timers/ticks'],
    [/^node:/, 'node: other'],
  ];
  for (const [pattern, name] of packages) if (pattern.test(url)) return name;
  return 'other';
}

export function summarizeProfile(profile: CpuProfile, top = 25): ProfileSummary {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfUs = new Map<number, number>();
  for (let index = 0; index < profile.samples.length; index++) {
    const id = profile.samples[index] as number;
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[index] ?? 0));
  }
  const functions = new Map<string, number>();
  const categories = new Map<string, number>();
  let idleUs = 0;
  let totalUs = 0;
  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    if (node === undefined) continue;
    totalUs += us;
    const { functionName, url, lineNumber } = node.callFrame;
    const cat = category(url, functionName);
    if (cat === 'idle') {
      idleUs += us;
      continue;
    }
    const file = url.replace(/^.*\/(node_modules|dist)\//, '$1/').replace(/^file:\/\//, '');
    const name = `${functionName || '(anonymous)'} ${file}${url === '' ? '' : `:${lineNumber + 1}`}`;
    functions.set(name, (functions.get(name) ?? 0) + us);
    categories.set(cat, (categories.get(cat) ?? 0) + us);
  }
  const busyUs = totalUs - idleUs || 1;
  const sorted = (map: Map<string, number>): [string, number][] => [...map].sort((a, b) => b[1] - a[1]);
  return {
    totalMs: Math.round(totalUs / 1000),
    busyMs: Math.round(busyUs / 1000),
    byFunction: sorted(functions)
      .slice(0, top)
      .map(([name, us]) => ({ name, selfMs: Math.round(us / 1000), percent: Math.round((us / busyUs) * 1000) / 10 })),
    byCategory: sorted(categories).map(([cat, us]) => ({ category: cat, selfMs: Math.round(us / 1000), percent: Math.round((us / busyUs) * 1000) / 10 })),
  };
}

export async function summarizeProfileFile(path: string, top = 25): Promise<ProfileSummary> {
  return summarizeProfile(JSON.parse(await readFile(path, 'utf8')) as CpuProfile, top);
}

export function renderProfile(summary: ProfileSummary): string {
  const lines = [`busy ${summary.busyMs} ms of ${summary.totalMs} ms profiled`, '', 'self time by package:'];
  for (const entry of summary.byCategory) lines.push(`  ${entry.percent.toFixed(1).padStart(5)}%  ${entry.category}`);
  lines.push('', 'self time by function:');
  for (const entry of summary.byFunction) lines.push(`  ${entry.percent.toFixed(1).padStart(5)}%  ${entry.name}`);
  return lines.join('\n');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const file = process.argv[2];
  if (file === undefined) {
    process.stderr.write('usage: node dist/bench/lib/profile-summary.js <file.cpuprofile>\n');
    process.exit(2);
  }
  process.stdout.write(`${renderProfile(await summarizeProfileFile(file))}\n`);
}
