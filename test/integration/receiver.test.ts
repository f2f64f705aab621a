/**
 * The receiver's side, on REAL deliveries from a running service: `verifyWebhook` (HMAC and
 * Ed25519 through the org's JWKS), rotation grace periods and revocation as a receiver sees them,
 * the JWKS endpoint itself, agreement with the `standardwebhooks` reference library on every
 * request this file received, and the published `org-webhooks/verify` entry point used from plain
 * Node.js and from a TypeScript consumer.
 */
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyWebhook, WebhookVerificationError, type Ed25519JsonWebKey, type WebhookVerificationErrorCode } from '../../server/verify.js';
import { createConsumer, type Consumer } from '../fixtures/receiving/consumer.js';
import { createEndpoint, publish, waitForDeliveries } from '../helpers/flows.js';
import type { GraphQLClient } from '../helpers/graphql.js';
import { startReceiver, type ReceivedRequest, type Receiver } from '../helpers/receiver.js';
import { startTestService, type TestService } from '../helpers/service.js';

const ROTATE = `mutation($id: ID!, $algorithm: SigningAlgorithm, $grace: Int) {
  rotateSigningKey(endpointId: $id, algorithm: $algorithm, gracePeriodSeconds: $grace) { secret signingKey { id algorithm publicKey } } }`;
const REVOKE = `mutation($id: ID!) { revokeSigningKey(id: $id) { id revokedAt usable } }`;
const KEYS = `query($id: ID!) { signingKeys(endpointId: $id) { id algorithm publicKey expiresAt revokedAt usable } }`;

interface Jwk extends Ed25519JsonWebKey {
  kid: string;
  use?: string;
  alg?: string;
}
interface SigningKeyView {
  id: string;
  algorithm: 'HMAC_SHA256' | 'ED25519';
  publicKey: string | null;
  expiresAt: string | null;
  revokedAt: string | null;
  usable: boolean;
}

let service: TestService;
let receiver: Receiver;
let consumer: Consumer;
let admin: GraphQLClient;
/** Every HMAC secret handed out in this file: the agreement check tries each on every request. */
const secrets: string[] = [];

beforeAll(async () => {
  [service, receiver, consumer] = await Promise.all([startTestService(), startReceiver(), createConsumer()]);
  admin = service.client();
});
afterAll(async () => {
  await consumer?.close();
  await receiver?.close();
  await service?.close();
});

/** A new enterprise organization, so Ed25519 key assertions see only this test's keys. */
async function newOrg(name: string): Promise<{ orgId: string; client: GraphQLClient }> {
  const created = await service.services.organizations.createOrganization({ name, plan: 'enterprise' });
  return { orgId: created.org.id, client: service.client(created.apiKey) };
}

async function endpoint(client: GraphQLClient, path: string, signingAlgorithm: 'HMAC_SHA256' | 'ED25519' = 'HMAC_SHA256') {
  const created = await createEndpoint(client, { url: `${receiver.url}${path}`, patterns: ['pipeline.*'], signingAlgorithm });
  if (created.secret) secrets.push(created.secret);
  return created;
}

async function rotate(client: GraphQLClient, id: string, algorithm: 'HMAC_SHA256' | 'ED25519', grace: number) {
  const result = (await client.data(ROTATE, { id, algorithm, grace })).rotateSigningKey as {
    secret: string | null;
    signingKey: { id: string; algorithm: string; publicKey: string | null };
  };
  if (result.secret) secrets.push(result.secret);
  return result;
}

const revoke = (client: GraphQLClient, keyId: string) => client.data(REVOKE, { id: keyId });
const keysOf = async (client: GraphQLClient, endpointId: string) => (await client.data(KEYS, { id: endpointId })).signingKeys as SigningKeyView[];

/** Publishes one event and returns the request it produced at `path`, once delivered. */
async function deliver(client: GraphQLClient, path: string, data: Record<string, unknown> = { runId: `run_${Math.random()}` }): Promise<ReceivedRequest> {
  const published = await publish(client, { type: 'pipeline.run.succeeded', data });
  await waitForDeliveries(service, published.event.id, ['SUCCEEDED']);
  const request = receiver.requests.find((r) => r.path === path && r.headers['webhook-id'] === published.event.id);
  if (!request) throw new Error(`no request for ${published.event.id} at ${path}`);
  return request;
}

async function fetchJwks(orgId: string, headers: Record<string, string> = {}) {
  const response = await fetch(`${service.url}/orgs/${orgId}/jwks.json`, { headers });
  const text = await response.text();
  return { response, status: response.status, body: text ? (JSON.parse(text) as { keys: Jwk[] }) : null, text };
}

function codeOf(fn: () => unknown): WebhookVerificationErrorCode | 'OK' {
  try {
    fn();
    return 'OK';
  } catch (err) {
    if (err instanceof WebhookVerificationError) return err.code;
    throw err;
  }
}

const entries = (request: ReceivedRequest) => request.headers['webhook-signature']!.split(' ');
const versions = (request: ReceivedRequest) => entries(request).map((e) => e.slice(0, e.indexOf(',')));

describe('the JWKS at /orgs/{orgId}/jwks.json', () => {
  it('publishes the Ed25519 key as an RFC 8037 JWK with cache headers, an ETag and 304 on If-None-Match', async () => {
    const org = await newOrg('jwks-basics');
    expect((await fetchJwks(org.orgId)).body).toEqual({ keys: [] });
    const ep = await endpoint(org.client, '/jwks-basics', 'ED25519');
    const [key] = (await keysOf(org.client, ep.id)).filter((k) => k.algorithm === 'ED25519');

    const first = await fetchJwks(org.orgId);
    expect(first.status).toBe(200);
    expect(first.response.headers.get('content-type')).toBe('application/json');
    expect(first.response.headers.get('cache-control')).toBe('public, max-age=300, stale-while-revalidate=60');
    expect(first.response.headers.get('access-control-allow-origin')).toBe('*');
    expect(first.body!.keys).toEqual([{ kty: 'OKP', crv: 'Ed25519', x: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/), kid: key!.id, use: 'sig', alg: 'EdDSA' }]);
    // x is the same key as the whpk_ form the API shows.
    expect(Buffer.from(first.body!.keys[0]!.x!, 'base64url')).toEqual(Buffer.from(key!.publicKey!.slice('whpk_'.length), 'base64'));

    const etag = first.response.headers.get('etag')!;
    expect(etag).toMatch(/^"[A-Za-z0-9_-]+"$/);
    expect((await fetchJwks(org.orgId)).response.headers.get('etag')).toBe(etag);
    for (const ifNoneMatch of [etag, `W/${etag}`, `"other", ${etag}`, '*']) {
      const cached = await fetchJwks(org.orgId, { 'if-none-match': ifNoneMatch });
      expect(cached.status, ifNoneMatch).toBe(304);
      expect(cached.text).toBe('');
      expect(cached.response.headers.get('etag')).toBe(etag);
      expect(cached.response.headers.get('cache-control')).toContain('max-age=300');
    }
    expect((await fetchJwks(org.orgId, { 'if-none-match': '"stale"' })).status).toBe(200);

    // A rotation changes the document, so the old ETag no longer matches.
    await rotate(org.client, ep.id, 'ED25519', 600);
    const after = await fetchJwks(org.orgId, { 'if-none-match': etag });
    expect(after.status).toBe(200);
    expect(after.body!.keys).toHaveLength(2);
    expect(after.response.headers.get('etag')).not.toBe(etag);
  });

  it('answers 404 for an unknown, malformed or badly escaped organization id', async () => {
    for (const orgId of ['org_01ARZ3NDEKTSV4RRFFQ69G5FAV', 'nonsense', '%E0%A4%A', 'org_01ARZ3NDEKTSV4RRFFQ69G5FAV%2Fx']) {
      const { status, text } = await fetchJwks(orgId);
      expect(status, orgId).toBe(404);
      expect(JSON.parse(text)).toEqual({ error: 'Unknown organization.' });
    }
  });

  it('lists keys in their grace period and drops a revoked key from the very next response', async () => {
    const org = await newOrg('jwks-rotation');
    const ep = await endpoint(org.client, '/jwks-rotation', 'ED25519');
    const [original] = (await keysOf(org.client, ep.id)).filter((k) => k.algorithm === 'ED25519');
    const { signingKey: next } = await rotate(org.client, ep.id, 'ED25519', 3600);
    const during = await fetchJwks(org.orgId);
    expect(during.body!.keys.map((k) => k.kid).sort()).toEqual([original!.id, next.id].sort());
    const etag = during.response.headers.get('etag')!;

    await revoke(org.client, original!.id);
    // No server-side caching: the revocation shows at once, even to a conditional request.
    const after = await fetchJwks(org.orgId, { 'if-none-match': etag });
    expect(after.status).toBe(200);
    expect(after.body!.keys.map((k) => k.kid)).toEqual([next.id]);

    // A zero grace period retires the old key at once too.
    const { signingKey: third } = await rotate(org.client, ep.id, 'ED25519', 0);
    expect((await fetchJwks(org.orgId)).body!.keys.map((k) => k.kid)).toEqual([third.id]);
  });
});

describe('verifyWebhook on real deliveries', () => {
  it('HMAC: accepts the delivery, rejects it tampered, with another secret, stale or without headers', async () => {
    const ep = await endpoint(admin, '/hmac');
    const other = await endpoint(admin, '/hmac-other');
    const request = await deliver(admin, '/hmac', { runId: 'run_1', note: 'Zoë ✓ 🚀' });
    expect(versions(request)).toEqual(['v1']);

    const event = verifyWebhook(request.rawBody, request.headers, { secret: ep.secret! });
    expect(event).toMatchObject({ id: request.headers['webhook-id'], type: 'pipeline.run.succeeded', data: { runId: 'run_1', note: 'Zoë ✓ 🚀' } });
    expect(verifyWebhook(Buffer.from(request.rawBody), request.headers, { secret: ep.secret! })).toEqual(event);
    expect(verifyWebhook(request.rawBody, new Headers(request.headers), { secret: ep.secret! })).toEqual(event);
    // Re-serialising the parsed body is the classic receiver bug: the bytes change, the signature fails.
    const reserialised = JSON.stringify(JSON.parse(request.rawBody), null, 2);
    expect(codeOf(() => verifyWebhook(reserialised, request.headers, { secret: ep.secret! }))).toBe('BAD_SIGNATURE');
    expect(codeOf(() => verifyWebhook(request.rawBody.replace('run_1', 'run_2'), request.headers, { secret: ep.secret! }))).toBe('BAD_SIGNATURE');
    expect(codeOf(() => verifyWebhook(request.rawBody, request.headers, { secret: other.secret! }))).toBe('BAD_SIGNATURE');

    const sentAt = Number(request.headers['webhook-timestamp']) * 1000;
    expect(Math.abs(sentAt - request.receivedAtMs)).toBeLessThan(2_000);
    const at = (offsetSeconds: number, toleranceSeconds?: number) =>
      codeOf(() => verifyWebhook(request.rawBody, request.headers, { secret: ep.secret!, now: new Date(sentAt + offsetSeconds * 1000), toleranceSeconds }));
    expect(at(300)).toBe('OK');
    expect(at(301)).toBe('STALE_TIMESTAMP');
    expect(at(-301)).toBe('STALE_TIMESTAMP');
    expect(at(3600, 7200)).toBe('OK');
    for (const name of ['webhook-id', 'webhook-timestamp', 'webhook-signature']) {
      const headers = { ...request.headers };
      delete headers[name];
      expect(codeOf(() => verifyWebhook(request.rawBody, headers, { secret: ep.secret! })), name).toBe('MISSING_HEADERS');
    }
  });

  it('Ed25519: verifies with the JWKS fetched from the service, and with the whpk_ key', async () => {
    const org = await newOrg('ed25519-jwks');
    const ep = await endpoint(org.client, '/ed25519', 'ED25519');
    expect(ep.secret).toBeNull();
    const request = await deliver(org.client, '/ed25519');
    expect(versions(request)).toEqual(['v1a']);

    const { body } = await fetchJwks(org.orgId);
    expect(verifyWebhook(request.rawBody, request.headers, { publicKey: body!.keys }).id).toBe(request.headers['webhook-id']);
    expect(verifyWebhook(request.rawBody, request.headers, { publicKey: body!.keys[0]! }).type).toBe('pipeline.run.succeeded');
    const [key] = (await keysOf(org.client, ep.id)).filter((k) => k.algorithm === 'ED25519');
    expect(codeOf(() => verifyWebhook(request.rawBody, request.headers, { publicKey: key!.publicKey! }))).toBe('OK');

    // Another organization's key does not verify it, nor does a tampered body.
    const stranger = await newOrg('ed25519-stranger');
    await endpoint(stranger.client, '/ed25519-stranger', 'ED25519');
    const strangerKeys = (await fetchJwks(stranger.orgId)).body!.keys;
    expect(strangerKeys).toHaveLength(1);
    expect(codeOf(() => verifyWebhook(request.rawBody, request.headers, { publicKey: strangerKeys }))).toBe('BAD_SIGNATURE');
    expect(codeOf(() => verifyWebhook(request.rawBody.replace('}', ' }'), request.headers, { publicKey: body!.keys }))).toBe('BAD_SIGNATURE');
  });

  it('HMAC rotation: both secrets verify during the grace period, only the new one after revocation', async () => {
    const ep = await endpoint(admin, '/hmac-rotation');
    const [oldKey] = await keysOf(admin, ep.id);
    const rotated = await rotate(admin, ep.id, 'HMAC_SHA256', 3600);

    const during = await deliver(admin, '/hmac-rotation');
    expect(versions(during)).toEqual(['v1', 'v1']);
    expect(codeOf(() => verifyWebhook(during.rawBody, during.headers, { secret: ep.secret! }))).toBe('OK');
    expect(codeOf(() => verifyWebhook(during.rawBody, during.headers, { secret: rotated.secret! }))).toBe('OK');
    expect(codeOf(() => verifyWebhook(during.rawBody, during.headers, { secret: [ep.secret!, rotated.secret!] }))).toBe('OK');
    expect(new Webhook(ep.secret!).verify(during.rawBody, during.headers)).toBeTruthy();
    expect(new Webhook(rotated.secret!).verify(during.rawBody, during.headers)).toBeTruthy();

    await revoke(admin, oldKey!.id);
    const after = await deliver(admin, '/hmac-rotation');
    expect(versions(after)).toEqual(['v1']);
    expect(codeOf(() => verifyWebhook(after.rawBody, after.headers, { secret: ep.secret! }))).toBe('BAD_SIGNATURE');
    expect(codeOf(() => verifyWebhook(after.rawBody, after.headers, { secret: rotated.secret! }))).toBe('OK');
    // A receiver that still lists both secrets keeps working across the whole change.
    expect(codeOf(() => verifyWebhook(after.rawBody, after.headers, { secret: [ep.secret!, rotated.secret!] }))).toBe('OK');
  });

  it('Ed25519 rotation: both JWKS keys verify during the grace period, only the new one after revocation', async () => {
    const org = await newOrg('ed25519-rotation');
    const ep = await endpoint(org.client, '/ed25519-rotation', 'ED25519');
    const [before] = (await fetchJwks(org.orgId)).body!.keys;
    const { signingKey: next } = await rotate(org.client, ep.id, 'ED25519', 3600);

    const during = await deliver(org.client, '/ed25519-rotation');
    expect(versions(during)).toEqual(['v1a', 'v1a']);
    const jwks = (await fetchJwks(org.orgId)).body!.keys;
    expect(jwks.map((k) => k.kid).sort()).toEqual([before!.kid, next.id].sort());
    for (const jwk of jwks) expect(codeOf(() => verifyWebhook(during.rawBody, during.headers, { publicKey: jwk })), jwk.kid).toBe('OK');
    // A receiver still holding only the old JWKS keeps verifying during the grace period.
    expect(codeOf(() => verifyWebhook(during.rawBody, during.headers, { publicKey: before! }))).toBe('OK');

    await revoke(org.client, before!.kid);
    const after = await deliver(org.client, '/ed25519-rotation');
    expect(versions(after)).toEqual(['v1a']);
    expect(codeOf(() => verifyWebhook(after.rawBody, after.headers, { publicKey: before! }))).toBe('BAD_SIGNATURE');
    const refreshed = (await fetchJwks(org.orgId)).body!.keys;
    expect(refreshed.map((k) => k.kid)).toEqual([next.id]);
    expect(codeOf(() => verifyWebhook(after.rawBody, after.headers, { publicKey: refreshed }))).toBe('OK');
  });

  it('switching HMAC → Ed25519 with a grace period carries v1 and v1a; revoking the HMAC key leaves v1a only', async () => {
    const org = await newOrg('switch-to-ed25519');
    const ep = await endpoint(org.client, '/switch-ed', 'HMAC_SHA256');
    const [hmacKey] = await keysOf(org.client, ep.id);
    const { secret, signingKey } = await rotate(org.client, ep.id, 'ED25519', 3600);
    expect(secret).toBeNull();

    const during = await deliver(org.client, '/switch-ed');
    expect(versions(during)).toEqual(['v1', 'v1a']);
    const jwks = (await fetchJwks(org.orgId)).body!.keys;
    expect(jwks.map((k) => k.kid)).toEqual([signingKey.id]);
    expect(codeOf(() => verifyWebhook(during.rawBody, during.headers, { secret: ep.secret! }))).toBe('OK');
    expect(codeOf(() => verifyWebhook(during.rawBody, during.headers, { publicKey: jwks }))).toBe('OK');
    expect(codeOf(() => verifyWebhook(during.rawBody, during.headers, { secret: ep.secret!, publicKey: jwks }))).toBe('OK');
    // The reference library knows only v1: it skips the v1a entry and accepts on the HMAC one.
    expect(new Webhook(ep.secret!).verify(during.rawBody, during.headers)).toBeTruthy();

    await revoke(org.client, hmacKey!.id);
    const after = await deliver(org.client, '/switch-ed');
    expect(versions(after)).toEqual(['v1a']);
    expect(codeOf(() => verifyWebhook(after.rawBody, after.headers, { secret: ep.secret! }))).toBe('BAD_SIGNATURE');
    expect(() => new Webhook(ep.secret!).verify(after.rawBody, after.headers)).toThrow();
    expect(codeOf(() => verifyWebhook(after.rawBody, after.headers, { publicKey: jwks }))).toBe('OK');
  });

  it('switching Ed25519 → HMAC with a grace period carries v1 and v1a', async () => {
    const org = await newOrg('switch-to-hmac');
    const ep = await endpoint(org.client, '/switch-hmac', 'ED25519');
    const { secret } = await rotate(org.client, ep.id, 'HMAC_SHA256', 3600);
    const during = await deliver(org.client, '/switch-hmac');
    expect(versions(during)).toEqual(['v1', 'v1a']);
    expect(codeOf(() => verifyWebhook(during.rawBody, during.headers, { secret: secret! }))).toBe('OK');
    const jwks = (await fetchJwks(org.orgId)).body!.keys;
    expect(codeOf(() => verifyWebhook(during.rawBody, during.headers, { publicKey: jwks }))).toBe('OK');
  });

});

describe('the published entry point org-webhooks/verify', () => {
  const SCRIPT = `
import { verifyWebhook, WebhookVerificationError } from 'org-webhooks/verify';

let input = '';
for await (const chunk of process.stdin) input += chunk;
const results = JSON.parse(input).map(({ rawBody, headers, options }) => {
  try {
    const event = verifyWebhook(rawBody, headers, options);
    return { ok: true, id: event.id, type: event.type };
  } catch (err) {
    return { ok: false, code: err.code, verificationError: err instanceof WebhookVerificationError, name: err.name };
  }
});
console.log(JSON.stringify({ resolved: import.meta.resolve('org-webhooks/verify'), results }));
`;

  it('verifies real deliveries from a plain node ESM script (no TypeScript loader)', async () => {
    const hmac = await endpoint(admin, '/plain-node-hmac');
    const hmacRequest = await deliver(admin, '/plain-node-hmac');
    const org = await newOrg('plain-node-ed25519');
    await endpoint(org.client, '/plain-node-ed', 'ED25519');
    const edRequest = await deliver(org.client, '/plain-node-ed');
    const jwks = (await fetchJwks(org.orgId)).body!.keys;

    const file = await consumer.write('verify-stdin.mjs', SCRIPT);
    const cases = [
      { rawBody: hmacRequest.rawBody, headers: hmacRequest.headers, options: { secret: hmac.secret } },
      { rawBody: edRequest.rawBody, headers: edRequest.headers, options: { publicKey: jwks } },
      { rawBody: hmacRequest.rawBody + ' ', headers: hmacRequest.headers, options: { secret: hmac.secret } },
      { rawBody: hmacRequest.rawBody, headers: { ...hmacRequest.headers, 'webhook-timestamp': '1' }, options: { secret: hmac.secret } },
      { rawBody: hmacRequest.rawBody, headers: { 'content-type': 'application/json' }, options: { secret: hmac.secret } },
    ];
    const run = await consumer.run(file, { stdin: JSON.stringify(cases) });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const output = JSON.parse(run.stdout) as { resolved: string; results: unknown[] };
    expect(output.resolved).toMatch(/\/node_modules\/org-webhooks\/dist\/verify\.js$/);
    expect(output.results).toEqual([
      { ok: true, id: hmacRequest.headers['webhook-id'], type: 'pipeline.run.succeeded' },
      { ok: true, id: edRequest.headers['webhook-id'], type: 'pipeline.run.succeeded' },
      { ok: false, code: 'BAD_SIGNATURE', verificationError: true, name: 'WebhookVerificationError' },
      { ok: false, code: 'STALE_TIMESTAMP', verificationError: true, name: 'WebhookVerificationError' },
      { ok: false, code: 'MISSING_HEADERS', verificationError: true, name: 'WebhookVerificationError' },
    ]);
  });

  it('packs what `exports` and `bin` point to (the verifier, the org-webhooks CLI) and nothing of the server into the tarball', () => {
    expect(consumer.packedFiles).toEqual([
      'dist/cli/documentFile.js',
      'dist/cli/orgWebhooks.js',
      'dist/cli/orgWebhooksCommand.js',
      'dist/cli/planReport.js',
      'dist/cli/webhooksApi.js',
      'dist/domain/signing.d.ts',
      'dist/domain/signing.js',
      'dist/verify.d.ts',
      'dist/verify.js',
      'package.json',
    ]);
  });

  it('exposes only ./verify: the package root and internals are not importable', async () => {
    const file = await consumer.write(
      'exports.mjs',
      `const out = {};
for (const spec of ['org-webhooks', 'org-webhooks/dist/domain/signing.js', 'org-webhooks/server/verify.ts']) {
  try { await import(spec); out[spec] = 'loaded'; } catch (err) { out[spec] = err.code; }
}
console.log(JSON.stringify(out));`,
    );
    const run = await consumer.run(file);
    expect(JSON.parse(run.stdout)).toEqual({
      'org-webhooks': 'ERR_PACKAGE_PATH_NOT_EXPORTED',
      'org-webhooks/dist/domain/signing.js': 'ERR_PACKAGE_PATH_NOT_EXPORTED',
      'org-webhooks/server/verify.ts': 'ERR_PACKAGE_PATH_NOT_EXPORTED',
    });
  });

  it('ships .d.ts types a TypeScript consumer (module/moduleResolution NodeNext) compiles against', async () => {
    await consumer.write(
      'consumer.ts',
      `import http from 'node:http';
import {
  verifyWebhook,
  WebhookVerificationError,
  type Ed25519JsonWebKey,
  type VerifyWebhookOptions,
  type WebhookEnvelope,
  type WebhookVerificationErrorCode,
} from 'org-webhooks/verify';

const jwk: Ed25519JsonWebKey = { kty: 'OKP', crv: 'Ed25519', x: 'AAAA', kid: 'sk_1' };
const options: VerifyWebhookOptions = { secret: ['whsec_a', 'whsec_b'], publicKey: [jwk, 'whpk_x'], toleranceSeconds: 300, now: new Date() };

http.createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    try {
      const event: WebhookEnvelope = verifyWebhook(Buffer.concat(chunks), req.headers, options);
      const id: string = event.id;
      const data: Record<string, unknown> = event.data;
      res.end(id + Object.keys(data).length);
    } catch (err) {
      if (err instanceof WebhookVerificationError) {
        const code: WebhookVerificationErrorCode = err.code;
        // @ts-expect-error: the code is a closed union, not any string
        if (err.code === 'TIMEOUT') res.statusCode = 500;
        res.statusCode = code === 'BAD_SIGNATURE' ? 401 : 400;
      }
      res.end();
    }
  });
});

// Fetch Headers work too.
verifyWebhook('{}', new Headers(), { secret: 'whsec_a' });
// @ts-expect-error: a parsed body is not accepted
verifyWebhook({ id: 'evt' }, {}, { secret: 'whsec_a' });
// @ts-expect-error: the option is toleranceSeconds
verifyWebhook('{}', {}, { secret: 'whsec_a', tolerance: 5 });
`,
    );
    const result = await consumer.typecheck(['consumer.ts']);
    expect(result.stdout + result.stderr).toBe('');
    expect(result.code).toBe(0);
  }, 90_000);
});

// Last in the file, so it sees every request the tests above received.
describe('agreement with the reference library', () => {
  it('the standardwebhooks library and verifyWebhook agree on every request this file received', async () => {
    expect(receiver.requests.length).toBeGreaterThanOrEqual(10);
    expect(secrets.length).toBeGreaterThanOrEqual(7);
    for (const request of receiver.requests) {
      const label = `${request.path} ${request.headers['webhook-id']}`;
      let accepted = 0;
      for (const secret of secrets) {
        let library: boolean;
        try {
          new Webhook(secret).verify(request.rawBody, request.headers);
          library = true;
        } catch {
          library = false;
        }
        const ours = codeOf(() => verifyWebhook(request.rawBody, request.headers, { secret })) === 'OK';
        expect(ours, label).toBe(library);
        if (ours) accepted++;
      }
      // Not agreement by rejecting everything: each HMAC-signed request verifies with the secret(s) it was signed with.
      expect(accepted > 0, label).toBe(versions(request).includes('v1'));
    }
  });
});
