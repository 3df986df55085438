/**
 * `--log-format json`: the gateway's lines and functions' lines, one JSON object per line.
 */
import { describe, expect, it } from 'vitest';
import { createStreamLogger } from '../../gateway/logging/logger.js';

describe('JSON log lines', () => {
  it('writes time, level, message and fields; a field cannot replace the fixed keys', () => {
    const lines: string[] = [];
    const logger = createStreamLogger({ format: 'json', write: (line) => lines.push(line) });
    logger.info('gateway ready', { functions: 3, message: 'spoofed', level: 'error' });
    logger.debug('not shown');
    expect(lines).toHaveLength(1);
    expect(lines[0]?.endsWith('\n')).toBe(true);
    const entry = JSON.parse(lines[0] ?? '') as Record<string, unknown>;
    expect(entry).toMatchObject({ level: 'info', message: 'gateway ready', functions: 3 });
    expect(Number.isNaN(Date.parse(String(entry['time'])))).toBe(false);
  });

  it("writes functions' lines with service, function, requestId, level and text", () => {
    const lines: string[] = [];
    const logger = createStreamLogger({ format: 'json', write: (line) => lines.push(line) });
    logger.functionLine('[S/f] formatted', { time: 0, serviceName: 'S', functionName: 'f', requestId: 'r1', level: 'warn', message: 'a "quoted"\nline' });
    logger.functionLine('a line without its record');
    expect(lines.map((line) => JSON.parse(line) as unknown)).toEqual([
      { time: '1970-01-01T00:00:00.000Z', level: 'warn', service: 'S', function: 'f', requestId: 'r1', text: 'a "quoted"\nline' },
      { time: expect.any(String), level: 'info', text: 'a line without its record' },
    ]);
  });

  it('stays text by default', () => {
    const lines: string[] = [];
    createStreamLogger({ write: (line) => lines.push(line) }).info('hello', { a: 1 });
    expect(lines[0]).toMatch(/^\S+ INFO hello a=1\n$/);
  });
});
