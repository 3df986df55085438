/**
 * A redeploy whose new trigger topic the broker refuses (its ACL) is refused as a whole: the
 * gateway keeps the template it had, and the triggers it had (docs/lifecycle.md). The broker is
 * an external aedes that refuses SUBSCRIBEs to forbidden/#, as EMQX's ACL does (SUBACK 0x80);
 * Mosquitto 2.0 grants every subscription and filters on delivery instead.
 */
import { rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ErrorCode } from '../../src/index.js';
import { startAedes, type AedesTestBroker, type RunningBroker } from '../fixtures/brokers.js';
import { startTestGateway, type TestGateway } from '../fixtures/test-gateway.js';
import { traversableTempDir } from '../fixtures/temp-dirs.js';

const CONTEXT = resolve(fileURLToPath(import.meta.url), '../../fixtures/gateway-functions/context');

let dir: string;
let broker: RunningBroker<AedesTestBroker>;
let gw: TestGateway;

function template(trigger: string): string {
  return `edgefc: 1
services:
  Acl:
    functions:
      fn:
        runtime: nodejs20
        handler: index.handler
        codeUri: ${JSON.stringify(CONTEXT)}
        triggers:
          - topic: ${trigger}
`;
}

beforeAll(async () => {
  dir = await traversableTempDir('edgefc-acl-');
  broker = await startAedes();
  // aedes's hook: a null subscription is a refusal (SUBACK 0x80).
  broker.embedded.aedes.authorizeSubscribe = (_client, subscription, callback) =>
    callback(null, subscription.topic.startsWith('forbidden/') ? null : subscription);
  await writeFile(join(dir, 'template.yml'), template('allowed/+'));
  gw = await startTestGateway({ templatePath: join(dir, 'template.yml'), brokerUrl: broker.url });
});

afterAll(async () => {
  await gw?.stop();
  await broker?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('a trigger topic the broker refuses', () => {
  test('fails the redeploy with ServiceUnavailable; the old template and its triggers stay', async () => {
    await writeFile(join(dir, 'template.yml'), template('forbidden/+'));
    const error = await gw.gateway.redeploy().then(
      () => undefined,
      (e: unknown) => e as { code?: string; message: string },
    );
    expect(error).toMatchObject({ code: ErrorCode.ServiceUnavailable, message: expect.stringContaining('forbidden/+') as string });
    expect(gw.gateway.registry.functions()[0]?.triggers?.map((t) => t.topic)).toEqual(['allowed/+']);
    // Back to the allowed one: a deploy that changes nothing about triggers goes through.
    await writeFile(join(dir, 'template.yml'), template('allowed/+'));
    expect(await gw.gateway.redeploy()).toMatchObject({ triggersChanged: false });
  });
});
