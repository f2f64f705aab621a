/**
 * Secrets (fast): no plaintext HMAC secret, Ed25519 seed, mTLS private key, API key or master key
 * in any text/jsonb value of the database (every table of the service and of pg-boss), in the
 * log (captured at debug level while secrets are created, used, rotated and refused), or in an
 * error message; payloads never in the log. Then master key rotation end to end, as
 * docs/reliability.md describes it: processes restarted with the new key and the old one in
 * WEBHOOKS_PREVIOUS_MASTER_KEYS keep delivering, `npm run admin -- rotate-master-key`
 * re-encrypts every sealed value (in batches, idempotently, reporting what it cannot open), and a
 * process with only the new key then signs with the same secrets and presents the same mTLS key.
 */
import { randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestService, type TestService } from '../helpers/service.js';
import { startReceiver, type Receiver } from '../helpers/receiver.js';
import { getTestCertificates, type TestCertificates } from '../helpers/certs.js';
import { createEndpoint, publish, waitForDeliveries, waitUntil } from '../helpers/flows.js';
import { graphqlClient, type GraphQLResponse } from '../helpers/graphql.js';
import { ADMIN_ENTRY } from '../helpers/processes.js';
import { createSecretBox, masterKeyId, sealedKeyId } from '../../server/crypto/secretBox.js';
import { verifyWebhook } from '../../server/verify.js';
import { captureLogs, recordFigures, startServiceOn, type LogCapture, type ServiceOn } from './support.js';

const K1 = randomBytes(32).toString('base64');
const K2 = randomBytes(32).toString('base64');

let service: TestService;
let logs: LogCapture;
let receiver: Receiver;
let mtlsReceiver: Receiver;
let certs: TestCertificates;
let stopped = false;
const responses: GraphQLResponse[] = [];
const secrets = {
  hmac: [] as string[],
  apiKeys: [] as string[],
  headerValue: `hv-${randomBytes(12).toString('hex')}`,
  urlToken: `ut-${randomBytes(12).toString('hex')}`,
};
const payloadMarker = `payload-${randomBytes(12).toString('hex')}`;
const ids = { hmac: '', ed25519: '', mtls: '' };
const figures = { secretsChecked: 0, columnsScanned: 0, logLines: 0, errorMessages: 0, reencrypted: 0 };

beforeAll(async () => {
  certs = await getTestCertificates();
  logs = captureLogs();
  receiver = await startReceiver({ respond: (req) => (req.path.endsWith('/fail') ? { status: 500, body: 'nope' } : { status: 200, body: 'ok' }) });
  mtlsReceiver = await startReceiver({
    https: { key: certs.serverKeyPem, cert: certs.serverCertPem, ca: certs.caCertPem, requestCert: true, rejectUnauthorized: true },
  });
  service = await startTestService({ LOG_LEVEL: 'debug', WEBHOOKS_MASTER_KEY: K1 }, { logDestination: logs.stream });
  const admin = service.client();
  const track = async (query: string, variables?: Record<string, unknown>, key?: string | null) => {
    const response = await service.client(key === undefined ? service.adminKey : key).request(query, variables);
    responses.push(response);
    return response;
  };

  // Secrets are created...
  const hmac = await createEndpoint(admin, {
    url: `${receiver.url}/hmac?token=${secrets.urlToken}`,
    patterns: ['pipeline.run.succeeded'],
    headers: [{ name: 'X-Api-Token', value: secrets.headerValue }],
  });
  ids.hmac = hmac.id;
  secrets.hmac.push(hmac.secret!);
  ids.ed25519 = (await createEndpoint(admin, { url: `${receiver.url}/ed`, patterns: ['pipeline.run.succeeded'], signingAlgorithm: 'ED25519' })).id;
  const mtls = await createEndpoint(admin, {
    url: `${mtlsReceiver.url}/mtls`,
    patterns: ['pipeline.run.succeeded'],
    tls: { clientCertificatePem: certs.clientCertPem, clientKeyPem: certs.clientKeyPem, caCertificatePem: certs.caCertPem },
  });
  ids.mtls = mtls.id;
  secrets.hmac.push(mtls.secret!);
  await createEndpoint(admin, { url: `${receiver.url}/fail`, patterns: ['pipeline.run.succeeded'], retryPolicy: { initialBackoffSeconds: 1, multiplier: 1, maxBackoffSeconds: 1, maxAttempts: 1 } });
  const rotated = await track(`mutation($id: ID!) { rotateSigningKey(endpointId: $id, gracePeriodSeconds: 3600) { secret } }`, { id: hmac.id });
  secrets.hmac.push(rotated.data.rotateSigningKey.secret);
  for (const role of ['ADMIN', 'VIEWER']) {
    const key = await track(`mutation($r: ApiKeyRole!) { createApiKey(role: $r, name: "secret test") { key } }`, { r: role });
    secrets.apiKeys.push(key.data.createApiKey.key);
  }
  secrets.apiKeys.push(service.adminKey);
  // ...used (deliveries succeed, fail, test events)...
  const published = await publish(admin, { type: 'pipeline.run.succeeded', data: { marker: payloadMarker, nested: { marker: payloadMarker } } });
  await waitForDeliveries(service, published.event.id, ['SUCCEEDED', 'DEAD'], 15_000);
  await track(`mutation($id: ID!) { sendTestEvent(endpointId: $id) { succeeded } }`, { id: hmac.id });
  // ...and refused, with the secret material inside the refused input.
  await track(`mutation($input: CreateEndpointInput!) { createEndpoint(input: $input) { secret } }`, {
    input: { url: `${receiver.url}/bad-tls`, tls: { clientCertificatePem: certs.serverCertPem, clientKeyPem: certs.clientKeyPem } },
  });
  await track(`mutation($input: CreateEndpointInput!) { createEndpoint(input: $input) { secret } }`, {
    input: { url: `${receiver.url}/bad-tls`, tls: { clientCertificatePem: certs.clientKeyPem, clientKeyPem: certs.clientKeyPem } },
  });
  await track(`mutation($input: CreateEndpointInput!) { createEndpoint(input: $input) { secret } }`, {
    input: { url: `${receiver.url}/bad-header`, headers: [{ name: 'Bad Name', value: secrets.headerValue }] },
  });
  await track(`mutation($input: PublishEventInput!) { publishEvent(input: $input) { event { id } } }`, {
    input: { type: 'pipeline.run.nope', data: { marker: payloadMarker } },
  });
  for (const key of [`whk_${secrets.apiKeys[0]!.slice(4, 20)}forged`, secrets.apiKeys[0]!.slice(0, -2)]) await track(`{ viewer { role } }`, {}, key);
  await track(`{ viewer { role } }`, {}, `whsec_${randomBytes(8).toString('hex')}`);
}, 60_000);

afterAll(async () => {
  recordFigures('secrets', figures);
  await receiver?.close();
  await mtlsReceiver?.close();
  if (stopped) await service?.testDatabase.drop();
  else await service?.close();
});

/** Every value that must never appear in clear, with a name for the failure message. */
async function secretValues(): Promise<[string, string][]> {
  const box = createSecretBox(Buffer.from(K1, 'base64'));
  const values: [string, string][] = [];
  for (const s of secrets.hmac) values.push(['HMAC secret', s], ['HMAC secret (base64 part)', s.slice('whsec_'.length)]);
  for (const k of secrets.apiKeys) values.push(['API key', k], ['API key (body)', k.slice('whk_'.length)]);
  const keyLines = certs.clientKeyPem.split('\n').filter((l) => l && !l.startsWith('-----'));
  for (const line of keyLines) values.push(['mTLS private key', line]);
  values.push(['mTLS private key (PEM)', '-----BEGIN PRIVATE KEY-----']);
  const seeds = await service.database.sql<{ secret_sealed: string }[]>`SELECT secret_sealed FROM signing_keys WHERE algorithm = 'ED25519'`;
  expect(seeds.length).toBeGreaterThan(0);
  for (const { secret_sealed } of seeds) {
    const seed = box.open(secret_sealed);
    values.push(['Ed25519 seed (base64)', seed.toString('base64')], ['Ed25519 seed (hex)', seed.toString('hex')], ['Ed25519 seed (base64url)', seed.toString('base64url')]);
  }
  values.push(['master key', K1]);
  // Sealed at rest since issue 16 (they were stored in clear): receivers put tokens there.
  values.push(['custom header value', secrets.headerValue], ['URL query token', secrets.urlToken]);
  figures.secretsChecked = values.length;
  return values;
}

describe('no plaintext secret at rest, in the log or in an error message', () => {
  it('the database: every row of every table (service and pg-boss), as text', async () => {
    const tables = await service.database.sql<{ schema: string; table: string }[]>`
      SELECT table_schema AS schema, table_name AS table FROM information_schema.tables
      WHERE table_schema IN ('public', 'pgboss', 'webhooks_meta') AND table_type = 'BASE TABLE'`;
    const columns = await service.database.sql<{ n: number }[]>`
      SELECT count(*)::int AS n FROM information_schema.columns
      WHERE table_schema IN ('public', 'pgboss') AND data_type IN ('text', 'character varying', 'jsonb', 'json', 'ARRAY', 'bytea')`;
    figures.columnsScanned = columns[0]!.n;
    const values = await secretValues();
    for (const { schema, table } of tables) {
      const rows = await service.database.sql.unsafe<{ row: string }[]>(`SELECT t::text AS row FROM "${schema}"."${table}" t`);
      const dump = rows.map((r) => r.row).join('\n');
      for (const [what, value] of values) expect(dump.includes(value), `${what} in ${schema}.${table}`).toBe(false);
    }
    // Custom header values are stored to be sent, but attempts record only their names.
    const recorded = await service.database.sql<{ h: string }[]>`SELECT request_headers::text AS h FROM delivery_attempts`;
    expect(recorded.length).toBeGreaterThan(0);
    for (const { h } of recorded) expect(h).not.toContain(secrets.headerValue);
    // Sealed values are all under the current master key.
    const sealed = await service.database.sql<{ v: string }[]>`
      SELECT secret_sealed AS v FROM signing_keys UNION ALL SELECT tls_client_key_sealed FROM endpoints WHERE tls_client_key_sealed IS NOT NULL
      UNION ALL SELECT url_query_sealed FROM endpoints WHERE url_query_sealed IS NOT NULL UNION ALL SELECT headers_sealed FROM endpoints WHERE headers_sealed IS NOT NULL`;
    expect(sealed.length).toBeGreaterThan(4);
    for (const { v } of sealed) expect(sealedKeyId(v)).toBe(masterKeyId(Buffer.from(K1, 'base64')));
  });

  it('the log (debug level) holds no secret, no API key, no custom header value and no payload', async () => {
    const text = logs.text();
    figures.logLines = logs.lines.length;
    expect(logs.lines.length).toBeGreaterThan(5);
    for (const [what, value] of await secretValues()) expect(text.includes(value), `${what} in the log`).toBe(false);
    expect(text.includes(secrets.headerValue), 'custom header value in the log').toBe(false);
    expect(text.includes(payloadMarker), 'payload in the log').toBe(false);
    expect(text).not.toMatch(/whsec_|whk_[A-Za-z0-9_-]{20}|PRIVATE KEY/);
  });

  it('error messages (API answers and attempt records) hold no secret, no header value, no payload', async () => {
    const messages = responses.flatMap((r) => (r.errors ?? []).map((e) => `${e.message} ${JSON.stringify(e.extensions ?? {})}`));
    const attempts = await service.database.sql<{ m: string }[]>`SELECT error_message AS m FROM delivery_attempts WHERE error_message IS NOT NULL`;
    const all = messages.concat(attempts.map((a) => a.m));
    figures.errorMessages = all.length;
    expect(messages.length).toBeGreaterThanOrEqual(6);
    const values = await secretValues();
    for (const message of all) {
      for (const [what, value] of values) expect(message.includes(value), `${what} in error "${message.slice(0, 200)}"`).toBe(false);
      expect(message.includes(secrets.headerValue)).toBe(false);
      expect(message.includes(payloadMarker)).toBe(false);
      expect(message).not.toMatch(/PRIVATE KEY|whsec_[A-Za-z0-9+/=]{10}/);
    }
  });
});

function runAdmin(args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...ADMIN_ENTRY, ...args], {
      env: { ...process.env, LOG_LEVEL: 'silent', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('master key rotation', () => {
  it('rolls from K1 to K2 with no secret lost: overlap, re-encrypt in batches (idempotent), then K2 alone', async () => {
    const url = service.testDatabase.url;
    await service.stop();
    stopped = true;
    const sealedIds = async (s: ServiceOn) =>
      (
        await s.database.sql<{ v: string }[]>`
          SELECT secret_sealed AS v FROM signing_keys UNION ALL SELECT tls_client_key_sealed FROM endpoints WHERE tls_client_key_sealed IS NOT NULL`
      ).map((r) => sealedKeyId(r.v));
    const k1Id = masterKeyId(Buffer.from(K1, 'base64'));
    const k2Id = masterKeyId(Buffer.from(K2, 'base64'));

    // 1. Every process restarts with K2 as the master key and K1 as a previous key: old values
    //    still open (deliveries signed and mTLS presented), new ones are sealed with K2.
    let overlap: ServiceOn | null = await startServiceOn(url, { WEBHOOKS_MASTER_KEY: K2, WEBHOOKS_PREVIOUS_MASTER_KEYS: `${K1}` });
    const admin = overlap.client(service.adminKey);
    const before = receiver.requests.length;
    const first = await publish(admin, { type: 'pipeline.run.succeeded', data: { step: 'overlap' } });
    await waitUntil('overlap deliveries', async () => {
      const rows = await overlap!.database.sql<{ status: string; endpoint_id: string }[]>`SELECT status, endpoint_id FROM deliveries WHERE event_id = ${first.event.id}`;
      const ours = rows.filter((r) => [ids.hmac, ids.ed25519, ids.mtls].includes(r.endpoint_id));
      return ours.length === 3 && ours.every((r) => r.status === 'SUCCEEDED');
    }, 15_000);
    expect(receiver.requests.length).toBeGreaterThan(before);
    const newKey = await overlap.client(service.adminKey).data(`mutation($id: ID!) { rotateSigningKey(endpointId: $id, gracePeriodSeconds: 3600) { secret } }`, { id: ids.hmac });
    const latestSecret = newKey.rotateSigningKey.secret as string;
    const mixed = await sealedIds(overlap);
    expect(mixed).toContain(k1Id);
    expect(mixed).toContain(k2Id);
    // A value sealed with a key nobody has any more: reported, left alone, exit status 2.
    const stray = createSecretBox(randomBytes(32)).seal('lost');
    await overlap.database.sql`
      INSERT INTO signing_keys (id, org_id, endpoint_id, algorithm, secret_sealed, revoked_at)
      VALUES ('sk_stray_for_rotation_test', ${service.orgId}, ${ids.hmac}, 'HMAC_SHA256', ${stray}, now())`;

    // 2. The command re-encrypts what is left under K1, a few rows per transaction.
    const env = { DATABASE_URL: url, WEBHOOKS_MASTER_KEY: K2, WEBHOOKS_PREVIOUS_MASTER_KEYS: K1 };
    const run1 = await runAdmin(['rotate-master-key', '--batch-size', '2'], env);
    expect(run1.code, run1.stderr).toBe(2);
    const report1 = JSON.parse(run1.stdout.trim().split('\n').pop()!);
    expect(report1.keyId).toBe(k2Id);
    expect(report1.reencrypted).toBeGreaterThanOrEqual(4);
    expect(report1.failed).toEqual([expect.objectContaining({ id: 'sk_stray_for_rotation_test', table: 'signing_keys' })]);
    expect(run1.stdout + run1.stderr).not.toContain(K1);
    expect(run1.stdout + run1.stderr).not.toContain(K2);
    figures.reencrypted = report1.reencrypted;
    await overlap.database.sql`DELETE FROM signing_keys WHERE id = 'sk_stray_for_rotation_test'`;
    const run2 = await runAdmin(['rotate-master-key'], env);
    expect(run2.code, run2.stderr).toBe(0);
    const report2 = JSON.parse(run2.stdout.trim().split('\n').pop()!);
    expect(report2.reencrypted).toBe(0);
    expect(report2.sealedValuesByKeyId).toEqual({ [k2Id]: expect.any(Number) });
    expect((await sealedIds(overlap)).every((k) => k === k2Id)).toBe(true);
    await overlap.stop();
    overlap = null;

    // 3. K1 is gone: a process with K2 alone still signs with the same secrets and presents the same mTLS key.
    const only = await startServiceOn(url, { WEBHOOKS_MASTER_KEY: K2 });
    try {
      const client = only.client(service.adminKey);
      const published = await publish(client, { type: 'pipeline.run.succeeded', data: { step: 'after' } });
      await waitUntil('deliveries after rotation', async () => {
        const rows = await only.database.sql<{ status: string; endpoint_id: string }[]>`SELECT status, endpoint_id FROM deliveries WHERE event_id = ${published.event.id}`;
        return rows.filter((r) => [ids.hmac, ids.ed25519, ids.mtls].includes(r.endpoint_id)).every((r) => r.status === 'SUCCEEDED') ? rows : null;
      }, 15_000);
      const hmacRequest = receiver.requests.find((r) => r.path.startsWith('/hmac') && r.headers['webhook-id'] === published.event.id)!;
      // Both the original (in its grace period) and the newest secret verify the request.
      for (const secret of [secrets.hmac[2]!, latestSecret]) expect(verifyWebhook(hmacRequest.rawBody, hmacRequest.headers, { secret }).id).toBe(published.event.id);
      const jwks = await (await fetch(`${only.url}/orgs/${service.orgId}/jwks.json`)).json();
      const edRequest = receiver.requests.find((r) => r.path === '/ed' && r.headers['webhook-id'] === published.event.id)!;
      expect(verifyWebhook(edRequest.rawBody, edRequest.headers, { publicKey: jwks.keys[0] }).id).toBe(published.event.id);
      const mtlsRequest = mtlsReceiver.requests.find((r) => r.headers['webhook-id'] === published.event.id)!;
      expect(mtlsRequest.clientCertificateSubject).toContain(certs.clientSubjectCn);
      expect((await graphqlClient(`${only.url}/graphql`, service.adminKey).data(`{ viewer { role } }`)).viewer.role).toBe('ADMIN');
    } finally {
      await only.stop();
    }
  }, 90_000);
});
