/**
 * The one place a Node.js function process is forked, for an instance (node-instance.ts) and for
 * a spare (spare-processes.ts) alike, so both start with the same options.
 */
import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';

export interface ForkRunnerOptions {
  runnerPath: string;
  cwd: string;
  env: Record<string, string>;
  memorySizeMB: number;
  /** The function's own user (FunctionSpec.runAs); absent: the gateway's. Spares never get one. */
  user?: { uid: number; gid: number };
}

/** Throws synchronously only for bad arguments; spawn failures arrive as 'error' events. */
export function forkRunner(options: ForkRunnerOptions): ChildProcess {
  return fork(options.runnerPath, [], {
    cwd: options.cwd,
    ...(options.user === undefined ? {} : { uid: options.user.uid, gid: options.user.gid }),
    env: options.env,
    execArgv: [
      // Caps the V8 heap; Buffers are held to memorySize by the RSS watchdog (memory-watchdog.ts).
      `--max-old-space-size=${options.memorySizeMB}`,
      // require() of the ESM SDK prints an ExperimentalWarning on Node 20; not the function's output.
      '--disable-warning=ExperimentalWarning',
    ],
    // Structured clone: event and Buffer results cross as bytes, not base64 JSON.
    serialization: 'advanced',
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    // Leader of its own process group: kill(-pid) also ends what the function spawned.
    detached: true,
  });
}
