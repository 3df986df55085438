/**
 * LinkEdge code runs unchanged: the two functions of the FCClient sample (an invoker that calls
 * EdgeFC/helloworld through `require('linkedge-core-sdk')` with a base64 invokerContext, and the
 * helloworld that reads it) on a gateway with its embedded broker.
 */
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../fixtures/test-gateway.js';
import { waitFor } from '../fixtures/wait.js';

const TEMPLATE = fileURLToPath(new URL('../fixtures/seed003/template.yml', import.meta.url));

let env: TestGateway;

beforeAll(async () => {
  env = await startTestGateway({ templatePath: TEMPLATE });
});

afterAll(async () => {
  await env?.stop();
});

it('runs the LinkEdge invoker/helloworld pair unchanged', async () => {
  const client = env.client();
  const { payload } = await client.invokeFunction({ serviceName: 'EdgeFC', functionName: 'invoker' });
  expect(payload).toBe(''); // the invoker ends with callback(null)
  const log = (): string => env.lines.join('\n');
  // The callee saw the caller's invokerContext, decoded, and its event as a Buffer.
  await waitFor(() => expect(log()).toMatch(/\[EdgeFC\/helloworld\] \S+ \S+ \[INFO\] context set by the fixture invoker/));
  expect(log()).toMatch(/\[EdgeFC\/helloworld\] .*<Buffer 74 65 78 74/);
  // The caller got the callee's text result as data.payload and logged it.
  await waitFor(() => expect(log()).toMatch(/\[EdgeFC\/invoker\] \S+ \S+ \[INFO\] reply from the fixture helloworld/));
  expect(client.pendingCount).toBe(0);
});
