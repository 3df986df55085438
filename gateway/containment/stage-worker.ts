/**
 * The staging thread (./stage-thread.ts starts one per deploy): stages each function's code it
 * is sent (code-stager.ts) and answers with the result, or the error's message.
 *
 * Why a thread: staging is thousands of small syscalls. Through libuv's pool (fs/promises) each
 * cost a thread hop: 2,000 files took 2.3 s to copy and 0.6 s to restage. Inline they are ~10×
 * cheaper, but on the event loop a write throttled by the kernel's dirty-page writeback (an SD
 * card on an edge box) would stall every call being served. Here they are inline and off the loop.
 */
import { parentPort } from 'node:worker_threads';
import { stageCode, type StagedCode } from './code-stager.js';

/** One function's code to stage; `id` pairs the answer with it. */
export interface StageJob {
  id: number;
  codeDir: string;
  codeRoot: string;
  uid: number;
  gid: number;
}

export type StageAnswer = { id: number; staged: StagedCode } | { id: number; error: string };

const port = parentPort;
if (port === null) throw new Error('stage-worker runs as a worker thread');
port.on('message', (job: StageJob) => {
  let answer: StageAnswer;
  try {
    answer = { id: job.id, staged: stageCode(job.codeDir, job.codeRoot, job.uid, job.gid) };
  } catch (error) {
    answer = { id: job.id, error: error instanceof Error ? error.message : String(error) };
  }
  port.postMessage(answer);
});
