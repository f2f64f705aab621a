/**
 * Test PKI made with the `openssl` CLI (node:crypto can parse certificates but not issue them):
 * a CA, a server certificate for 127.0.0.1 / ::1 / localhost, and a client certificate for mTLS,
 * all signed by that CA. Generated once per test process; the temp dir is removed right away.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface TestCertificates {
  caCertPem: string;
  caKeyPem: string;
  /** SAN: IP:127.0.0.1, IP:::1, DNS:localhost; EKU serverAuth. */
  serverCertPem: string;
  serverKeyPem: string;
  /** Subject CN=webhook-test-client; EKU clientAuth. */
  clientCertPem: string;
  clientKeyPem: string;
  clientSubjectCn: string;
}

export const CLIENT_SUBJECT_CN = 'webhook-test-client';

let cached: Promise<TestCertificates> | null = null;

/** The test PKI, generated on first use (about 100 ms) and shared by every caller in the process. */
export function getTestCertificates(): Promise<TestCertificates> {
  cached ??= generate();
  return cached;
}

// EC P-256 keeps generation fast; short validity since nothing outlives a test run.
async function generate(): Promise<TestCertificates> {
  const dir = await mkdtemp(join(tmpdir(), 'webhook-certs-'));
  const path = (name: string): string => join(dir, name);
  const openssl = (...args: string[]) => run('openssl', args, { cwd: dir });
  const newKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  try {
    await openssl('req', '-x509', ...newKey, '-keyout', path('ca.key'), '-out', path('ca.crt'), '-days', '2',
      '-subj', '/CN=webhook-test-ca',
      '-addext', 'basicConstraints=critical,CA:TRUE',
      '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
    await issue('server', '/CN=localhost', [
      'basicConstraints=CA:FALSE',
      'keyUsage=critical,digitalSignature',
      'extendedKeyUsage=serverAuth',
      'subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost',
    ]);
    await issue('client', `/CN=${CLIENT_SUBJECT_CN}`, [
      'basicConstraints=CA:FALSE',
      'keyUsage=critical,digitalSignature',
      'extendedKeyUsage=clientAuth',
    ]);
    const read = (name: string) => readFile(path(name), 'utf8');
    return {
      caCertPem: await read('ca.crt'),
      caKeyPem: await read('ca.key'),
      serverCertPem: await read('server.crt'),
      serverKeyPem: await read('server.key'),
      clientCertPem: await read('client.crt'),
      clientKeyPem: await read('client.key'),
      clientSubjectCn: CLIENT_SUBJECT_CN,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }

  async function issue(name: string, subject: string, extensions: string[]): Promise<void> {
    await writeFile(path(`${name}.ext`), [
      ...extensions,
      'subjectKeyIdentifier=hash',
      'authorityKeyIdentifier=keyid,issuer',
    ].join('\n'));
    await openssl('req', '-new', ...newKey, '-keyout', path(`${name}.key`), '-out', path(`${name}.csr`), '-subj', subject);
    await openssl('x509', '-req', '-in', path(`${name}.csr`), '-CA', path('ca.crt'), '-CAkey', path('ca.key'),
      '-set_serial', `0x${Math.floor(Math.random() * 2 ** 48).toString(16)}`, '-days', '2',
      '-extfile', path(`${name}.ext`), '-out', path(`${name}.crt`));
  }
}

/**
 * TLS options for a server that only speaks TLS 1.0/1.1. OpenSSL 3 disables those versions at
 * the default security level, so ciphers drop to SECLEVEL=0 (which re-allows SHA-1 handshake
 * signatures). Verified here: Node 20 / OpenSSL 3.0 does negotiate TLS 1.1 with these options
 * when the client allows it, so a test can first prove that with a permissive client and then
 * show the sender refusing the same server.
 */
export function legacyTlsServerOptions(certs: TestCertificates): {
  key: string;
  cert: string;
  minVersion: 'TLSv1';
  maxVersion: 'TLSv1.1';
  ciphers: string;
} {
  return {
    key: certs.serverKeyPem,
    cert: certs.serverCertPem,
    minVersion: 'TLSv1',
    maxVersion: 'TLSv1.1',
    ciphers: 'DEFAULT@SECLEVEL=0',
  };
}
