/**
 * docs/receiving.md is executable: every JavaScript example (marked `<!-- example: NAME -->`) is
 * written to a receiver project that installs the packed `org-webhooks`, run with plain `node`,
 * and fed REAL deliveries from a running service, including rotations, revocations, duplicates,
 * forgeries and stale requests. The sample request and JWKS shown in the guide are checked too.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSigner, decodeHmacSecret } from '../../server/domain/signing.js';
import { verifyWebhook } from '../../server/verify.js';
import { createConsumer, REPO_ROOT, type Consumer, type NodeProcess } from '../fixtures/receiving/consumer.js';
import { attemptsOf, createEndpoint, deliveriesOf, publish, waitForDeliveries, waitUntil } from '../helpers/flows.js';
import type { GraphQLClient } from '../helpers/graphql.js';
import { startReceiver, type Receiver } from '../helpers/receiver.js';
import { startTestService, type TestService } from '../helpers/service.js';

const GUIDE = readFileSync(path.join(REPO_ROOT, 'docs', 'receiving.md'), 'utf8');
const ROTATE = `mutation($id: ID!, $algorithm: SigningAlgorithm, $grace: Int) {
  rotateSigningKey(endpointId: $id, algorithm: $algorithm, gracePeriodSeconds: $grace) { secret signingKey { id } } }`;
const REVOKE = `mutation($id: ID!) { revokeSigningKey(id: $id) { id } }`;
const KEYS = `query($id: ID!) { signingKeys(endpointId: $id) { id algorithm } }`;
const UPDATE_URL = `mutation($id: ID!, $url: String!) { updateEndpoint(id: $id, input: { url: $url }) { id } }`;
/** Retries every second, so tests that make a receiver fail once do not wait for the default backoff. */
const FAST_RETRIES = { initialBackoffSeconds: 1, multiplier: 1, maxBackoffSeconds: 1, maxAttempts: 30 };

interface FencedBlock {
  lang: string;
  code: string;
  example: string | null;
}

/** Every fenced block of the guide (list-indented ones too), with the example name marked before it. */
function fencedBlocks(markdown: string): FencedBlock[] {
  const blocks: FencedBlock[] = [];
  const fence = /^( *)```(\w*)[^\n]*\n([\s\S]*?)^\1```[ \t]*$/gm;
  for (const match of markdown.matchAll(fence)) {
    const indent = match[1]!.length;
    const before = markdown.slice(0, match.index).trimEnd();
    const marker = /<!-- example: ([\w.-]+) -->$/.exec(before);
    const code = match[3]!
      .split('\n')
      .map((line) => line.slice(Math.min(indent, line.length - line.trimStart().length)))
      .join('\n');
    blocks.push({ lang: match[2]!, code, example: marker ? marker[1]! : null });
  }
  return blocks;
}

const blocks = fencedBlocks(GUIDE);
const examples = new Map(blocks.filter((b) => b.example).map((b) => [b.example!, b.code]));

let service: TestService;
let consumer: Consumer;
let mirror: Receiver;

beforeAll(async () => {
  [service, consumer, mirror] = await Promise.all([startTestService(), createConsumer(), startReceiver()]);
  for (const [name, code] of examples) await consumer.write(name, code);
});
afterAll(async () => {
  await consumer?.close();
  await mirror?.close();
  await service?.close();
});

async function newOrg(name: string): Promise<{ orgId: string; client: GraphQLClient }> {
  const created = await service.services.organizations.createOrganization({ name, plan: 'enterprise' });
  return { orgId: created.org.id, client: service.client(created.apiKey) };
}

/** Starts a guide example and resolves once it listens; returns it with its URL. */
async function startExample(name: string, env: Record<string, string>): Promise<NodeProcess & { url: string }> {
  const proc = consumer.start(name, { PORT: '0', ...env });
  const [, port] = await proc.waitForLine(/^listening on port (\d+)$/);
  return Object.assign(proc, { url: `http://127.0.0.1:${port}/webhooks` });
}

/** The JSON lines an example printed that have `key` equal to `value`. */
const logged = (proc: NodeProcess, key: string, value: unknown) => proc.jsonLines().filter((line) => line[key] === value);

async function waitForLogged(proc: NodeProcess, key: string, value: unknown, count = 1) {
  return waitUntil(`${key}=${String(value)} logged ${count}×`, async () => logged(proc, key, value).length >= count && logged(proc, key, value), 15_000);
}

async function post(url: string, body: string, headers: Record<string, string>) {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
  return { status: response.status, text: await response.text(), headers: response.headers };
}

/** Headers for `body` signed with `secret` at `timestampSeconds`, the way the service signs a retry. */
function signedHeaders(secret: string, id: string, body: string, timestampSeconds = Math.floor(Date.now() / 1000)) {
  return {
    'webhook-id': id,
    'webhook-timestamp': String(timestampSeconds),
    'webhook-signature': createSigner([{ algorithm: 'HMAC_SHA256', secret: decodeHmacSecret(secret) }])(id, timestampSeconds, body),
  };
}

async function publishAndDeliver(client: GraphQLClient, data: Record<string, unknown>) {
  const published = await publish(client, { type: 'pipeline.run.failed', data });
  await waitForDeliveries(service, published.event.id, ['SUCCEEDED'], 20_000);
  return published.event.id;
}

describe('the guide itself', () => {
  it('marks every code sample as an example to run; everything else is an illustration (text)', () => {
    expect([...examples.keys()]).toEqual(['receiver.mjs', 'receiver-standardwebhooks.mjs', 'receiver-ed25519.mjs']);
    for (const block of blocks) {
      if (block.example) expect(block.lang, block.example).toBe('js');
      else expect(block.lang, block.code.slice(0, 60)).toBe('text');
    }
    // Sections the guide promises in its contents list exist.
    for (const anchor of [...GUIDE.matchAll(/\]\(#([\w-]+)\)/g)].map((m) => m[1]!)) {
      const headings = [...GUIDE.matchAll(/^#+ (.+)$/gm)].map((m) =>
        m[1]!
          .toLowerCase()
          .replace(/[^\w\s-]/g, '')
          .replace(/\s/g, '-'),
      );
      expect(headings, anchor).toContain(anchor);
    }
  });

  it('shows a sample request whose signature really verifies with the example secret', () => {
    const sample = blocks.find((b) => b.lang === 'text' && b.code.startsWith('POST '))!.code;
    const [head, body] = sample.split('\n\n') as [string, string];
    const headers = Object.fromEntries(
      head
        .split('\n')
        .slice(1)
        .map((line) => [line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 1).trim()]),
    );
    const secret = /example secret `(whsec_[^`]+)`/.exec(GUIDE)![1]!;
    const now = new Date(Number(headers['webhook-timestamp']) * 1000);
    const rawBody = body.trimEnd();
    const event = verifyWebhook(rawBody, headers, { secret, now });
    expect(event.id).toBe(headers['webhook-id']);
    expect(Object.keys(event)).toEqual(['id', 'type', 'timestamp', 'data']);
    expect(new Webhook(secret).sign(headers['webhook-id']!, now, rawBody)).toBe(headers['webhook-signature']);
  });

  it('shows a JWKS shaped exactly like the one the service serves', async () => {
    const shown = JSON.parse(blocks.find((b) => b.lang === 'text' && b.code.includes('jwks.json'))!.code.split('\n').find((l) => l.startsWith('{'))!) as { keys: Record<string, string>[] };
    const org = await newOrg('guide-jwks');
    await createEndpoint(org.client, { url: `${mirror.url}/jwks-shape`, patterns: ['*'], signingAlgorithm: 'ED25519' });
    const response = await fetch(`${service.url}/orgs/${org.orgId}/jwks.json`);
    const served = (await response.json()) as { keys: Record<string, string>[] };
    expect(Object.keys(shown.keys[0]!)).toEqual(Object.keys(served.keys[0]!));
    expect(shown.keys[0]!.x).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(shown.keys[0]!.kid).toMatch(/^sk_/);
    expect({ ...shown.keys[0], x: '', kid: '' }).toEqual({ ...served.keys[0], x: '', kid: '' });
    expect(GUIDE).toContain(`\`Cache-Control: ${response.headers.get('cache-control')}\``);
  });
});

describe('receiver.mjs (verifyWebhook in plain Node.js)', () => {
  it('handles real deliveries once, answers 202, and rejects duplicates, stale, unsigned and forged requests', async () => {
    const org = await newOrg('guide-receiver');
    // The endpoint (and so its secret) comes first; it points at the example once that runs.
    const endpoint = await createEndpoint(org.client, { url: 'http://127.0.0.1:9/pending', patterns: ['*'], retryPolicy: FAST_RETRIES });
    await createEndpoint(org.client, { url: `${mirror.url}/guide-mirror`, patterns: ['*'] });
    const app = await startExample('receiver.mjs', { WEBHOOK_SECRETS: endpoint.secret! });
    await org.client.data(UPDATE_URL, { id: endpoint.id, url: app.url });

    const eventId = await publishAndDeliver(org.client, { runId: 'run_42', reason: 'OOM' });
    const [handled] = await waitForLogged(app, 'handled', eventId);
    expect(handled).toEqual({ handled: eventId, type: 'pipeline.run.failed', data: { runId: 'run_42', reason: 'OOM' } });
    const [delivery] = (await deliveriesOf(service, eventId)).filter((d) => d.endpoint_id === endpoint.id);
    expect((await attemptsOf(service, delivery!.id)).map((a) => a.response_status)).toEqual([202]);

    // A retry of the same event (same id and body, fresh timestamp and signature) is a duplicate.
    const copy = await waitUntil('the mirror copy', async () => mirror.requests.find((r) => r.headers['webhook-id'] === eventId));
    const retry = signedHeaders(endpoint.secret!, eventId, copy.rawBody);
    expect(await post(app.url, copy.rawBody, retry)).toMatchObject({ status: 200, text: 'already received' });
    expect(await post(app.url, copy.rawBody, retry)).toMatchObject({ status: 200 });
    await waitForLogged(app, 'duplicate', eventId, 2);

    // Requests to reject: nothing of them is handled.
    const fresh = 'evt_01K7B8W2Q3V9X4ZC5N6M7P8R9Z';
    const body = copy.rawBody.replace(eventId, fresh);
    const stale = signedHeaders(endpoint.secret!, fresh, body, Math.floor(Date.now() / 1000) - 600);
    expect(await post(app.url, body, stale)).toMatchObject({ status: 400, text: 'STALE_TIMESTAMP' });
    expect(await post(app.url, body, {})).toMatchObject({ status: 400, text: 'MISSING_HEADERS' });
    const otherSecret = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;
    expect(await post(app.url, body, signedHeaders(otherSecret, fresh, body))).toMatchObject({ status: 401, text: 'BAD_SIGNATURE' });
    const tampered = body.replace('run_42', 'run_43');
    expect(await post(app.url, tampered, signedHeaders(endpoint.secret!, fresh, body))).toMatchObject({ status: 401, text: 'BAD_SIGNATURE' });
    expect((await fetch(app.url)).status).toBe(405);
    await waitForLogged(app, 'rejected', 'BAD_SIGNATURE', 2);
    expect(logged(app, 'rejected', 'STALE_TIMESTAMP')).toEqual([{ rejected: 'STALE_TIMESTAMP', id: fresh }]);
    expect(logged(app, 'rejected', 'MISSING_HEADERS')).toEqual([{ rejected: 'MISSING_HEADERS', id: null }]);
    expect(logged(app, 'handled', fresh)).toEqual([]);
    expect(logged(app, 'handled', eventId)).toHaveLength(1);
    expect(app.stderr).toBe('');
  });

  it('follows a rotation: old secret during the grace period, both secrets across it, 401 and retries for a receiver left behind', async () => {
    const org = await newOrg('guide-rotation');
    const endpoint = await createEndpoint(org.client, { url: 'http://127.0.0.1:9/pending', patterns: ['*'], retryPolicy: FAST_RETRIES });
    const oldOnly = await startExample('receiver.mjs', { WEBHOOK_SECRETS: endpoint.secret! });
    await org.client.data(UPDATE_URL, { id: endpoint.id, url: oldOnly.url });
    const [oldKey] = (await org.client.data(KEYS, { id: endpoint.id })).signingKeys;
    const newSecret: string = (await org.client.data(ROTATE, { id: endpoint.id, algorithm: 'HMAC_SHA256', grace: 3600 })).rotateSigningKey.secret;

    // Grace period: the receiver that knows only the old secret still verifies.
    const during = await publishAndDeliver(org.client, { step: 'during' });
    await waitForLogged(oldOnly, 'handled', during);

    // The receiver is redeployed with both secrets, then the old key is revoked.
    const both = await startExample('receiver.mjs', { WEBHOOK_SECRETS: `${endpoint.secret}, ${newSecret}` });
    await org.client.data(UPDATE_URL, { id: endpoint.id, url: both.url });
    await oldOnly.stop();
    const switched = await publishAndDeliver(org.client, { step: 'switched' });
    await waitForLogged(both, 'handled', switched);
    await org.client.data(REVOKE, { id: oldKey.id });
    const revoked = await publishAndDeliver(org.client, { step: 'revoked' });
    await waitForLogged(both, 'handled', revoked);

    // A receiver still on the old secret now answers 401; the service retries until it is fixed.
    const leftBehind = await startExample('receiver.mjs', { WEBHOOK_SECRETS: endpoint.secret! });
    await org.client.data(UPDATE_URL, { id: endpoint.id, url: leftBehind.url });
    const published = await publish(org.client, { type: 'pipeline.run.failed', data: { step: 'left behind' } });
    const [rejected] = await waitForLogged(leftBehind, 'rejected', 'BAD_SIGNATURE');
    expect(rejected!.id).toBe(published.event.id);
    await org.client.data(UPDATE_URL, { id: endpoint.id, url: both.url });
    const [delivery] = await waitForDeliveries(service, published.event.id, ['SUCCEEDED'], 20_000);
    await waitForLogged(both, 'handled', published.event.id);
    const statuses = (await attemptsOf(service, delivery!.id)).map((a) => a.response_status);
    expect(statuses[0]).toBe(401);
    expect(statuses.at(-1)).toBe(202);
    expect(logged(leftBehind, 'handled', published.event.id)).toEqual([]);
  });
});

describe('receiver-standardwebhooks.mjs (the reference library)', () => {
  it('handles real HMAC deliveries, through a rotation, and rejects forgeries and Ed25519-only requests', async () => {
    const org = await newOrg('guide-standardwebhooks');
    const endpoint = await createEndpoint(org.client, { url: 'http://127.0.0.1:9/pending', patterns: ['*'], retryPolicy: FAST_RETRIES });
    const app = await startExample('receiver-standardwebhooks.mjs', { WEBHOOK_SECRETS: endpoint.secret! });
    await org.client.data(UPDATE_URL, { id: endpoint.id, url: app.url });

    const first = await publishAndDeliver(org.client, { n: 1 });
    expect(await waitForLogged(app, 'handled', first)).toEqual([{ handled: first, type: 'pipeline.run.failed' }]);

    const newSecret: string = (await org.client.data(ROTATE, { id: endpoint.id, algorithm: 'HMAC_SHA256', grace: 3600 })).rotateSigningKey.secret;
    const during = await publishAndDeliver(org.client, { n: 2 });
    await waitForLogged(app, 'handled', during);
    const withNew = await startExample('receiver-standardwebhooks.mjs', { WEBHOOK_SECRETS: newSecret });
    await org.client.data(UPDATE_URL, { id: endpoint.id, url: withNew.url });
    const later = await publishAndDeliver(org.client, { n: 3 });
    await waitForLogged(withNew, 'handled', later);

    const body = JSON.stringify({ id: 'evt_forged', type: 'pipeline.run.failed', timestamp: new Date().toISOString(), data: {} });
    const forged = signedHeaders(`whsec_${Buffer.alloc(32, 3).toString('base64')}`, 'evt_forged', body);
    expect((await post(withNew.url, body, forged)).status).toBe(401);
    expect((await post(withNew.url, body, {})).status).toBe(401);
    await waitForLogged(withNew, 'rejected', 'Missing required headers');
    expect(logged(withNew, 'rejected', 'No matching signature found')).toEqual([{ rejected: 'No matching signature found', id: 'evt_forged' }]);

    // Version 1.x of the library knows no v1a: an endpoint signing with Ed25519 only is rejected.
    await org.client.data(ROTATE, { id: endpoint.id, algorithm: 'ED25519', grace: 0 });
    const edOnly = await publish(org.client, { type: 'pipeline.run.failed', data: { n: 4 } });
    await waitForLogged(withNew, 'rejected', 'No matching signature found', 2);
    expect(logged(withNew, 'rejected', 'No matching signature found').map((l) => l.id)).toContain(edOnly.event.id);
    expect(logged(withNew, 'handled', edOnly.event.id)).toEqual([]);
    await org.client.data(`mutation($id: ID!) { pauseEndpoint(id: $id) { id } }`, { id: endpoint.id });
  });
});

describe('receiver-ed25519.mjs (JWKS)', () => {
  it('verifies with the cached JWKS, refreshes it after a rotation, revalidates with a 304, and answers 503 without keys', async () => {
    const org = await newOrg('guide-ed25519');
    const endpoint = await createEndpoint(org.client, { url: 'http://127.0.0.1:9/pending', patterns: ['*'], retryPolicy: FAST_RETRIES, signingAlgorithm: 'ED25519' });
    const jwksUrl = `${service.url}/orgs/${org.orgId}/jwks.json`;
    const app = await startExample('receiver-ed25519.mjs', { JWKS_URL: jwksUrl, JWKS_MIN_REFRESH_SECONDS: '1' });
    await org.client.data(UPDATE_URL, { id: endpoint.id, url: app.url });

    const first = await publishAndDeliver(org.client, { n: 1 });
    await waitForLogged(app, 'handled', first);
    const [firstKey] = (await org.client.data(KEYS, { id: endpoint.id })).signingKeys.filter((k: { algorithm: string }) => k.algorithm === 'ED25519');
    expect(logged(app, 'jwks', 200)).toEqual([{ jwks: 200, kids: [firstKey.id] }]);

    // A new organization key with no grace period: unknown to the cache until a refresh.
    const rotated = (await org.client.data(ROTATE, { id: endpoint.id, algorithm: 'ED25519', grace: 0 })).rotateSigningKey.signingKey.id as string;
    const second = await publishAndDeliver(org.client, { n: 2 });
    await waitForLogged(app, 'handled', second);
    expect(logged(app, 'jwks', 200).map((l) => l.kids)).toEqual([[firstKey.id], [rotated]]);

    // A forged request forces a (rate-limited) refresh: the unchanged JWKS costs a 304.
    await new Promise((r) => setTimeout(r, 1_100));
    const body = JSON.stringify({ id: 'evt_forged', type: 'pipeline.run.failed', timestamp: new Date().toISOString(), data: {} });
    const forged = { 'webhook-id': 'evt_forged', 'webhook-timestamp': String(Math.floor(Date.now() / 1000)), 'webhook-signature': `v1a,${Buffer.alloc(64, 1).toString('base64')}` };
    expect(await post(app.url, body, forged)).toMatchObject({ status: 401, text: 'BAD_SIGNATURE' });
    expect(logged(app, 'jwks', 304)).toEqual([{ jwks: 304, kids: [rotated] }]);
    expect(logged(app, 'handled', 'evt_forged')).toEqual([]);
    expect(app.stderr).toBe('');

    // Pointed at an organization that does not exist, it has no key: 503 with Retry-After.
    const lost = await startExample('receiver-ed25519.mjs', { JWKS_URL: `${service.url}/orgs/org_01ARZ3NDEKTSV4RRFFQ69G5FAV/jwks.json` });
    const answer = await post(lost.url, body, forged);
    expect(answer.status).toBe(503);
    expect(answer.headers.get('retry-after')).toBe('60');
    await waitUntil('the 404 reported', async () => lost.stderr.includes('JWKS answered 404'));
  });
});
