import { defineConfig } from 'vitest/config';

export default defineConfig({
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
  },
});
