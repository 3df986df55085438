/**
 * Which modules a process loads from now on, through Node's module hooks (`module.register`,
 * Node ≥ 20.6): every ES module resolved is reported. The trace-export A/B uses it to show that
 * a gateway without an OTLP endpoint imports no OpenTelemetry module.
 */
import { register } from 'node:module';
import { MessageChannel } from 'node:worker_threads';

export interface ModuleWatch {
  /** URLs resolved so far (deduplicated). */
  urls(): string[];
  /** Wait until the loader thread's reports so far have arrived. */
  settle(): Promise<void>;
}

export function watchModules(): ModuleWatch {
  const seen = new Set<string>();
  const { port1, port2 } = new MessageChannel();
  port1.on('message', (url: string) => seen.add(url));
  port1.unref();
  register(new URL('./module-watch-hooks.js', import.meta.url), { data: { port: port2 }, transferList: [port2] });
  return {
    urls: () => [...seen],
    // Messages from the loader thread arrive on later turns of the event loop.
    settle: () => new Promise((resolve) => setTimeout(resolve, 50)),
  };
}
