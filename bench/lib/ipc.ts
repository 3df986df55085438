/**
 * Request/reply over a forked child's IPC channel, for the bench's worker processes (clients,
 * raw responder, gateway). The parent holds a `WorkerProcess`; the child calls `serve()`.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';

interface CallMessage {
  callId: number;
  command: string;
  args: unknown;
}

type ReplyMessage = { callId: number; ok: true; result: unknown } | { callId: number; ok: false; error: string };

export type Handlers = Record<string, (args: never) => unknown>;

/** Child side: answer the parent's calls until it disconnects, then exit. */
export function serve(handlers: Handlers): void {
  if (process.send === undefined) throw new Error('a bench worker must be started with fork()');
  const send = process.send.bind(process);
  process.on('message', (message: CallMessage) => {
    const handler = handlers[message.command] as ((args: unknown) => unknown) | undefined;
    Promise.resolve()
      .then(() => {
        if (handler === undefined) throw new Error(`unknown command ${message.command}`);
        return handler(message.args);
      })
      .then(
        (result) => send({ callId: message.callId, ok: true, result } satisfies ReplyMessage),
        (error: unknown) =>
          send({
            callId: message.callId,
            ok: false,
            error: error instanceof Error ? (error.stack ?? error.message) : String(error),
          } satisfies ReplyMessage),
      );
  });
  // The parent died or let go: nothing else will ever ask us anything.
  process.on('disconnect', () => process.exit(0));
}

export class WorkerProcess {
  readonly child: ChildProcess;
  readonly name: string;
  #nextId = 1;
  readonly #waiting = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  readonly #exited: Promise<void>;

  private constructor(name: string, child: ChildProcess) {
    this.name = name;
    this.child = child;
    child.on('message', (message: ReplyMessage) => {
      const waiter = this.#waiting.get(message.callId);
      if (waiter === undefined) return;
      this.#waiting.delete(message.callId);
      if (message.ok) waiter.resolve(message.result);
      else waiter.reject(new Error(`${name}: ${message.error}`));
    });
    this.#exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        for (const waiter of this.#waiting.values()) {
          waiter.reject(new Error(`${name} exited (code ${String(code)}, signal ${String(signal)})`));
        }
        this.#waiting.clear();
        resolve();
      });
    });
  }

  static async start(name: string, script: string, options: { execArgv?: string[]; env?: NodeJS.ProcessEnv } = {}): Promise<WorkerProcess> {
    const child = fork(script, [], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      execArgv: options.execArgv ?? [],
      env: options.env ?? process.env,
    });
    await once(child, 'spawn');
    return new WorkerProcess(name, child);
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  call<T>(command: string, args: unknown = {}): Promise<T> {
    const callId = this.#nextId++;
    return new Promise<T>((resolve, reject) => {
      this.#waiting.set(callId, { resolve: resolve as (value: unknown) => void, reject });
      this.child.send({ callId, command, args } satisfies CallMessage);
    });
  }

  /** Ask the worker to finish (disconnect), then SIGKILL it if it lingers. */
  async stop(graceMs = 5_000): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    if (this.child.connected) this.child.disconnect();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await this.#exited;
    clearTimeout(timer);
  }
}
