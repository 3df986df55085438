/**
 * The log tail with the result (docs/protocol.md §3.6, FC's X-Fc-Log-Type: Tail) through a real
 * gateway and broker: FCClient's `logType: 'Tail'`, on success and on failure, and
 * `edgefc invoke --log`.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ErrorCode, logResultOf } from '../../src/index.js';
import { runCli } from '../fixtures/cli-process.js';
import { startTestGateway, type TestGateway } from '../fixtures/test-gateway.js';

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway();
});
afterAll(async () => {
  await gw.stop();
});

describe('logType: Tail', () => {
  test('a successful call brings back its frames and lines, nothing of other calls', async () => {
    const client = gw.client();
    const other = client.invokeFunction({ serviceName: 'EdgeFC', functionName: 'helloworld', payload: 'someone else' });
    const result = await client.invokeFunction({ serviceName: 'EdgeFC', functionName: 'helloworld', payload: 'tail me', logType: 'Tail' });
    await other;
    const lines = (result.logResult ?? '').split('\n');
    expect(lines[0]).toBe(`FC Invoke Start RequestId: ${result.requestId}`);
    expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^\\S+Z ${result.requestId} \\[INFO\\] helloworld event: tail me$`)));
    expect(lines.at(-1)).toBe(`FC Invoke End RequestId: ${result.requestId}`);
    expect(result.logResult).not.toContain('someone else');
    expect(result.payload).toBe('Hello from edgefc helloworld');
  });

  test('a failed call carries its tail on the error; without the option there is none', async () => {
    const client = gw.client();
    const error = await client.invokeFunction({ serviceName: 'Test', functionName: 'fail', payload: 'throw', logType: 'Tail' }).catch((e: unknown) => e);
    expect((error as { code?: string }).code).toBe(ErrorCode.UnhandledInvocationError);
    expect(logResultOf(error)).toMatch(/FC Invoke End RequestId: \S+, Error: Unhandled function error$/);
    const plain = await client.invokeFunction({ serviceName: 'EdgeFC', functionName: 'helloworld' });
    expect(plain.logResult).toBeUndefined();
    // Async calls keep their log in the record (§10.3): asking for a tail is refused up front.
    await expect(client.invokeFunction({ serviceName: 'EdgeFC', functionName: 'helloworld', invocationType: 'Async', logType: 'Tail' })).rejects.toMatchObject({
      code: ErrorCode.InvalidArgument,
    });
  });

  test('edgefc invoke --log prints the tail to stderr, the result to stdout', async () => {
    const { code, stdout, stderr } = await runCli(['invoke', 'EdgeFC/helloworld', '--payload', 'from the cli', '--log', '--broker', gw.url]);
    expect(code).toBe(0);
    expect(stdout).toBe('Hello from edgefc helloworld\n');
    expect(stderr).toMatch(/^FC Invoke Start RequestId: (\S+)\n.*helloworld event: from the cli\n[\s\S]*FC Invoke End RequestId: \1\n$/);
  });
});
