/**
 * A throwaway CA, a broker certificate for 127.0.0.1 and client certificates, made with the
 * openssl command line (Node cannot issue X.509 certificates itself). For the TLS tests
 * (test/security) and the bench's TLS rows.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface Pem {
  cert: Buffer;
  key: Buffer;
}

export interface TestPki {
  ca: Buffer;
  server: Pem;
  client(cn: string): Promise<Pem>;
  /** A certificate for `cn` signed by another CA, which the broker must not trust. */
  stranger(cn: string): Promise<Pem>;
}

async function issue(dir: string, name: string, subject: string, caName: string | undefined, extra: string[] = []): Promise<Pem> {
  const key = join(dir, `${name}.key`);
  const cert = join(dir, `${name}.pem`);
  if (caName === undefined) {
    await run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', subject]);
  } else {
    const csr = join(dir, `${name}.csr`);
    await run('openssl', ['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', csr, '-subj', subject]);
    await run('openssl', ['x509', '-req', '-in', csr, '-CA', join(dir, `${caName}.pem`), '-CAkey', join(dir, `${caName}.key`), '-CAcreateserial', '-out', cert, '-days', '2', ...extra]);
  }
  return { cert: await readFile(cert), key: await readFile(key) };
}

export async function makeTestPki(dir: string): Promise<TestPki> {
  const ca = await issue(dir, 'ca', '/CN=edgefc test CA', undefined);
  await issue(dir, 'other-ca', '/CN=another CA', undefined);
  const extfile = join(dir, 'san.ext');
  await run('sh', ['-c', `printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\\n' > '${extfile}'`]);
  const server = await issue(dir, 'server', '/CN=localhost', 'ca', ['-extfile', extfile]);
  return {
    ca: ca.cert,
    server,
    client: (cn) => issue(dir, `client-${cn}`, `/CN=${cn}`, 'ca'),
    stranger: (cn) => issue(dir, `stranger-${cn}`, `/CN=${cn}`, 'other-ca'),
  };
}
