/**
 * The one place a Node.js function process is forked, for an instance (node-instance.ts) and for
 * a spare (spare-processes.ts) alike, so both start with the same options and the same channel.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { CHANNEL_FD, FunctionChannel } from './child/function-channel.js';
import type { ParentMessage } from './child/ipc-messages.js';

export interface ForkRunnerOptions {
  runnerPath: string;
  cwd: string;
  env: Record<string, string>;
  memorySizeMB: number;
  /** The function's own user (FunctionSpec.runAs); absent: the gateway's. Spares never get one. */
  user?: { uid: number; gid: number };
}

/** A forked runner and the gateway's end of its channel (messages are dropped until handlers are set). */
export interface RunnerProcess {
  child: ChildProcess;
  channel: FunctionChannel<ParentMessage>;
}

/** Throws synchronously only for bad arguments; spawn failures arrive as 'error' events. */
export function forkRunner(options: ForkRunnerOptions): RunnerProcess {
  const execArgv = [
    // Caps the V8 heap; Buffers are held to memorySize by the RSS watchdog (memory-watchdog.ts).
    `--max-old-space-size=${options.memorySizeMB}`,
    // require() of the ESM SDK prints an ExperimentalWarning on Node 20; not the function's output.
    '--disable-warning=ExperimentalWarning',
  ];
  // spawn, not fork: fork insists on an IPC channel. The same node binary, flags and argv.
  const child = spawn(process.execPath, [...execArgv, options.runnerPath], {
    cwd: options.cwd,
    ...(options.user === undefined ? {} : { uid: options.user.uid, gid: options.user.gid }),
    env: options.env,
    // No IPC channel: calls and replies go over a socket pair on fd 3 (child/function-channel.ts),
    // length-prefixed JSON with raw bytes, cheaper per call than Node's IPC (child/channel-codec.ts).
    stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
    // Leader of its own process group: kill(-pid) also ends what the function spawned.
    detached: true,
  });
  // A failed spawn may leave no socket there (EMFILE): a closed one stands in, and 'error' follows.
  const socket = (child.stdio[CHANNEL_FD] as Duplex | null | undefined) ?? closedSocket();
  return { child, channel: new FunctionChannel<ParentMessage>(socket, { onMessage: () => undefined }) };
}

function closedSocket(): Duplex {
  const socket = new Socket();
  socket.destroy();
  return socket;
}
