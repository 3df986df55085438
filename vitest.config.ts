import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

/** src/ as TypeScript: one copy of the SDK for tests and the gateway code they run. */
const sdkSource = (path: string): string => fileURLToPath(new URL(`./src/${path}`, import.meta.url));

export default defineConfig({
  resolve: {
    // The gateway imports the SDK by package name (`edgefc`, `edgefc/protocol`, ...; src/package.json
    // "exports"), which Node resolves to the compiled src/dist. Under the test runner those names
    // go to the sources instead, the same modules the tests import by relative path, so an error
    // class or a trace-context store is one object, not a compiled and a source copy. Child
    // processes (function runners) are compiled code and resolve the package as Node does.
    // One line per export of src/package.json.
    alias: [
      { find: /^edgefc$/, replacement: sdkSource('index.ts') },
      { find: /^edgefc\/errors$/, replacement: sdkSource('errors.ts') },
      { find: /^edgefc\/(protocol|mqtt|client)$/, replacement: sdkSource('$1/index.ts') },
      { find: /^edgefc\/request-channel$/, replacement: sdkSource('client/request-channel.ts') },
    ],
  },
  test: {
    include: ['test/**/*.test.ts'],
    // Forks, not threads: tests spawn brokers and child processes and set socket options; a
    // process per worker keeps a crashing native or child-process test from taking others along.
    pool: 'forks',
    // 2 cores on CI and dev boxes: more workers only contend (and skew the latency tests).
    maxWorkers: 2,
    // Real brokers and child processes: starting Mosquitto or a forked broker takes 50-500 ms,
    // the overload test ~5-10 s. 20 s leaves room on a loaded 2-core box without hiding hangs.
    testTimeout: 20_000,
    hookTimeout: 20_000,
    teardownTimeout: 10_000,
    // expect.poll waits for something that does happen (a process gone, a spare forked, a line
    // written): vitest's default of 1 s is short on a loaded CI box, where a fork alone can take
    // that long. A poll that succeeds returns at once; only a failing one waits the full 10 s.
    expect: { poll: { timeout: 10_000 } },
  },
});
