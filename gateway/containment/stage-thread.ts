/**
 * Runs staging jobs (code-stager.ts) in a worker thread (stage-worker.ts, for why), one thread
 * per deploy: started for the jobs, ended when they are done. A thread starts in ~20-40 ms on 2
 * cores, paid at start and per deploy, never per call.
 *
 * The worker runs compiled JS, as the store writer does: next to this file when running from
 * dist/, from dist/ when running from sources (vitest; `npm test` builds first).
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { PACKAGE_ROOT } from '../package-root.js';
import type { StagedCode } from './code-stager.js';
import type { StageAnswer, StageJob } from './stage-worker.js';

const here = fileURLToPath(import.meta.url);
const WORKER_PATH = here.endsWith('.js')
  ? join(dirname(here), 'stage-worker.js')
  : join(PACKAGE_ROOT, 'dist', 'gateway', 'containment', 'stage-worker.js');

export type StageRequest = Omit<StageJob, 'id'>;

/**
 * Stage every request, one after the other in one thread; settles with each one's outcome in
 * order (a failure is that job's, not the others').
 */
export async function stageInThread(requests: readonly StageRequest[]): Promise<PromiseSettledResult<StagedCode>[]> {
  if (requests.length === 0) return [];
  const worker = new Worker(WORKER_PATH);
  try {
    const answers = new Map<number, StageAnswer>();
    await new Promise<void>((resolve, reject) => {
      worker.on('message', (answer: StageAnswer) => {
        answers.set(answer.id, answer);
        if (answers.size === requests.length) resolve();
      });
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new Error(`the staging thread exited (code ${code}) with ${requests.length - answers.size} job(s) left`)));
      requests.forEach((request, id) => worker.postMessage({ id, ...request } satisfies StageJob));
    });
    return requests.map((_, id): PromiseSettledResult<StagedCode> => {
      const answer = answers.get(id);
      if (answer !== undefined && 'staged' in answer) return { status: 'fulfilled', value: answer.staged };
      return { status: 'rejected', reason: new Error(answer !== undefined && 'error' in answer ? answer.error : 'no answer') };
    });
  } finally {
    await worker.terminate();
  }
}
