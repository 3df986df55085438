/**
 * The gateway's own log (gateway/logging/logger.ts): functions' lines are echoed to it, but not
 * held when its output does not keep up.
 */
import { describe, expect, test } from 'vitest';
import { createStreamLogger } from '../../gateway/logging/logger.js';

describe('createStreamLogger', () => {
  test("past maxBacklogBytes functions' lines are dropped, counted once the output keeps up; the gateway's own are written", () => {
    const written: string[] = [];
    let backlog = 0;
    const logger = createStreamLogger({ write: (line) => written.push(line), backlog: () => backlog, maxBacklogBytes: 100 });
    logger.functionLine('[S/f] one');
    backlog = 101;
    logger.functionLine('[S/f] two');
    logger.functionLine('[S/f] three');
    logger.warn('the gateway speaks');
    backlog = 0;
    logger.functionLine('[S/f] four');
    expect(written.map((line) => line.replace(/^\d{4}-\S+ /, ''))).toEqual([
      '[S/f] one\n',
      'WARN the gateway speaks\n',
      "WARN functions' log lines not echoed here: the output did not keep up (they are in the log files) lines=2\n",
      '[S/f] four\n',
    ]);
  });
});
