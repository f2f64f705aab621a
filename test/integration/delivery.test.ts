import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Webhook } from 'standardwebhooks';
import { startTestService, type TestService } from '../helpers/service.js';
import { startReceiver, type Receiver } from '../helpers/receiver.js';
import { createEndpoint, deliveriesOf, publish, waitForDeliveries, waitUntil } from '../helpers/flows.js';
import { verifyWebhook } from '../../server/verify.js';

let service: TestService;
let receiver: Receiver;

beforeAll(async () => {
  service = await startTestService();
  receiver = await startReceiver();
});
afterAll(async () => {
  await receiver?.close();
  await service?.close();
});

const hook = (path = '/hook') => `${receiver.url}${path}`;
/** The request for `eventId` that reached `path` (an event can go to several endpoints). */
const requestAt = (path: string, eventId: string) => receiver.requests.find((r) => r.path === path && r.headers['webhook-id'] === eventId)!;

describe('delivery and signatures', () => {
  it('delivers the Standard Webhooks envelope, verifiable by the standardwebhooks library', async () => {
    const admin = service.client();
    const endpoint = await createEndpoint(admin, { url: hook('/sw'), patterns: ['pipeline.run.failed'] });
    const before = receiver.requests.length;
    const published = await publish(admin, { type: 'pipeline.run.failed', data: { runId: 'run-1', reason: 'OOM', nested: { a: [1, 2] } } });
    expect(published.deliveryCount).toBe(1);
    const [request] = (await receiver.waitFor(before + 1)).slice(before);
    expect(request!.path).toBe('/sw');
    expect(request!.headers['content-type']).toBe('application/json');
    expect(request!.headers['user-agent']).toMatch(/org-webhooks/);
    expect(request!.headers['webhook-id']).toBe(published.event.id);
    const verified = new Webhook(endpoint.secret!).verify(request!.rawBody, request!.headers) as Record<string, unknown>;
    expect(verified).toMatchObject({
      id: published.event.id,
      type: 'pipeline.run.failed',
      data: { runId: 'run-1', reason: 'OOM', nested: { a: [1, 2] } },
    });
    expect(new Date(verified.timestamp as string).toISOString()).toBe(verified.timestamp);
    // Our own receiver helper agrees.
    expect(verifyWebhook(request!.rawBody, request!.headers, { secret: endpoint.secret! }).id).toBe(published.event.id);
    await waitForDeliveries(service, published.event.id, ['SUCCEEDED']);
  });

  it('keeps webhook-id equal to the event id across endpoints, with a fresh timestamp per attempt', async () => {
    const admin = service.client();
    const a = await createEndpoint(admin, { url: hook('/fan-a'), patterns: ['orchestration.*'] });
    const b = await createEndpoint(admin, { url: hook('/fan-b'), patterns: ['*'] });
    const published = await publish(admin, { type: 'orchestration.job.queued', data: { job: 'j1' } });
    expect(published.deliveryCount).toBeGreaterThanOrEqual(2);
    await waitForDeliveries(service, published.event.id, ['SUCCEEDED']);
    const got = receiver.requests.filter((r) => r.headers['webhook-id'] === published.event.id);
    const byPath = new Map(got.map((r) => [r.path, r]));
    expect(new Webhook(a.secret!).verify(byPath.get('/fan-a')!.rawBody, byPath.get('/fan-a')!.headers)).toBeTruthy();
    expect(new Webhook(b.secret!).verify(byPath.get('/fan-b')!.rawBody, byPath.get('/fan-b')!.headers)).toBeTruthy();
    // Each endpoint has its own secret: a's secret does not verify b's request.
    expect(() => new Webhook(a.secret!).verify(byPath.get('/fan-b')!.rawBody, byPath.get('/fan-b')!.headers)).toThrow();
  });

  it('fans one event out to many endpoints, each once', async () => {
    const admin = service.client();
    const ids = [];
    for (let i = 0; i < 12; i++) ids.push((await createEndpoint(admin, { url: hook(`/many-${i}`), patterns: ['governance.catalog.sync_finished'] })).id);
    const published = await publish(admin, { type: 'governance.catalog.sync_finished', data: { catalog: 'c' } });
    expect(published.deliveryCount).toBeGreaterThanOrEqual(12);
    const rows = await waitForDeliveries(service, published.event.id, ['SUCCEEDED']);
    for (const id of ids) expect(rows.filter((r) => r.endpoint_id === id)).toHaveLength(1);
    const paths = receiver.requests.filter((r) => r.headers['webhook-id'] === published.event.id).map((r) => r.path);
    for (let i = 0; i < 12; i++) expect(paths.filter((p) => p === `/many-${i}`)).toHaveLength(1);
  });

  it('signs with Ed25519 (v1a) when the endpoint uses the org key, verifiable from the JWKS', async () => {
    const admin = service.client();
    const endpoint = await createEndpoint(admin, {
      url: hook('/ed'),
      patterns: ['security.policy.changed'],
      signingAlgorithm: 'ED25519',
    });
    expect(endpoint.secret).toBeNull();
    const published = await publish(admin, { type: 'security.policy.changed', data: { policy: 'p' } });
    await waitForDeliveries(service, published.event.id, ['SUCCEEDED']);
    const request = requestAt('/ed', published.event.id);
    expect(request.headers['webhook-signature']).toMatch(/^v1a,/);
    const jwks = (await (await fetch(`${service.url}/orgs/${service.orgId}/jwks.json`)).json()) as { keys: JsonWebKey[] };
    expect(jwks.keys.length).toBeGreaterThan(0);
    expect(verifyWebhook(request.rawBody, request.headers, { publicKey: jwks.keys[0]! }).type).toBe('security.policy.changed');
  });

  it('sends both the old and the new signature during a rotation grace period, only the new one after revocation', async () => {
    const admin = service.client();
    const endpoint = await createEndpoint(admin, { url: hook('/rot'), patterns: ['pipeline.run.succeeded'] });
    const rotated = await admin.data(
      `mutation($id: ID!) { rotateSigningKey(endpointId: $id, algorithm: HMAC_SHA256, gracePeriodSeconds: 3600) { signingKey { id } secret } }`,
      { id: endpoint.id },
    );
    const newSecret: string = rotated.rotateSigningKey.secret;
    const first = await publish(admin, { type: 'pipeline.run.succeeded', data: { n: 1 } });
    await waitForDeliveries(service, first.event.id, ['SUCCEEDED']);
    const during = requestAt('/rot', first.event.id);
    expect(during.headers['webhook-signature']!.split(' ')).toHaveLength(2);
    expect(new Webhook(endpoint.secret!).verify(during.rawBody, during.headers)).toBeTruthy();
    expect(new Webhook(newSecret).verify(during.rawBody, during.headers)).toBeTruthy();

    const keys = await admin.data(`query($id: ID!) { signingKeys(endpointId: $id) { id revokedAt expiresAt } }`, { id: endpoint.id });
    const old = keys.signingKeys.find((k: { id: string }) => k.id !== rotated.rotateSigningKey.signingKey.id);
    await admin.data(`mutation($id: ID!) { revokeSigningKey(id: $id) { id revokedAt } }`, { id: old.id });
    const second = await publish(admin, { type: 'pipeline.run.succeeded', data: { n: 2 } });
    await waitForDeliveries(service, second.event.id, ['SUCCEEDED']);
    const after = requestAt('/rot', second.event.id);
    expect(after.headers['webhook-signature']!.split(' ')).toHaveLength(1);
    expect(new Webhook(newSecret).verify(after.rawBody, after.headers)).toBeTruthy();
    expect(() => new Webhook(endpoint.secret!).verify(after.rawBody, after.headers)).toThrow();
  });

  it('sends custom headers and records their values masked', async () => {
    const admin = service.client();
    const endpoint = await createEndpoint(admin, {
      url: hook('/hdr'),
      patterns: ['orchestration.lease.acquired'],
      headers: [{ name: 'X-Receiver-Token', value: 'tok-secret-123' }],
    });
    const published = await publish(admin, { type: 'orchestration.lease.acquired', data: {} });
    const rows = await waitForDeliveries(service, published.event.id, ['SUCCEEDED']);
    const request = requestAt('/hdr', published.event.id);
    const row = rows.find((r) => r.endpoint_id === endpoint.id);
    expect(request.headers['x-receiver-token']).toBe('tok-secret-123');
    const [attempt] = await service.database.sql<{ request_headers: Record<string, string> }[]>`
      SELECT request_headers FROM delivery_attempts WHERE delivery_id = ${row!.id}`;
    expect(attempt!.request_headers['X-Receiver-Token'] ?? attempt!.request_headers['x-receiver-token']).toBe('••••');
    expect(JSON.stringify(attempt)).not.toContain('tok-secret-123');
  });

  it('routes nothing to endpoints that are paused or not subscribed', async () => {
    const admin = service.client();
    const paused = await createEndpoint(admin, { url: hook('/paused'), patterns: ['pipeline.run.cancelled'] });
    await admin.data(`mutation($id: ID!) { pauseEndpoint(id: $id) { id active } }`, { id: paused.id });
    await createEndpoint(admin, { url: hook('/other'), patterns: ['security.*'] });
    const published = await publish(admin, { type: 'pipeline.run.cancelled', data: {} });
    const rows = await deliveriesOf(service, published.event.id);
    expect(rows.find((r) => r.endpoint_id === paused.id)).toBeUndefined();
  });
});

describe('publishing', () => {
  it('is idempotent on eventId: the same id returns the first event and creates no deliveries', async () => {
    const admin = service.client();
    await createEndpoint(admin, { url: hook('/idem'), patterns: ['governance.contract.violation_detected'] });
    const first = await publish(admin, { type: 'governance.contract.violation_detected', data: { v: 1 }, eventId: 'ext-42' });
    expect(first.duplicate).toBe(false);
    const again = await publish(admin, { type: 'governance.contract.violation_detected', data: { v: 2 }, eventId: 'ext-42' });
    expect(again).toMatchObject({ duplicate: true, deliveryCount: 0, event: { id: first.event.id } });
    const [row] = await service.database.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM events WHERE idempotency_key = 'ext-42'`;
    expect(row!.n).toBe(1);
    expect(await deliveriesOf(service, first.event.id)).toHaveLength(first.deliveryCount);
    const batch = await admin.data(
      `mutation($inputs: [PublishEventInput!]!) { publishEvents(inputs: $inputs) { event { id } duplicate deliveryCount } }`,
      {
        inputs: [
          { type: 'governance.contract.violation_detected', data: { v: 3 }, eventId: 'ext-42' },
          { type: 'governance.contract.violation_detected', data: { v: 4 }, eventId: 'ext-43' },
        ],
      },
    );
    expect(batch.publishEvents[0]).toMatchObject({ duplicate: true, deliveryCount: 0, event: { id: first.event.id } });
    expect(batch.publishEvents[1].duplicate).toBe(false);
  });

  it('publishes a batch in input order and counts deliveries per event', async () => {
    const admin = service.client();
    const inputs = Array.from({ length: 50 }, (_, i) => ({ type: 'orchestration.backfill.segment_completed', data: { i } }));
    const result = await admin.data(
      `mutation($inputs: [PublishEventInput!]!) { publishEvents(inputs: $inputs) { event { id data } deliveryCount } }`,
      { inputs },
    );
    expect(result.publishEvents.map((p: { event: { data: { i: number } } }) => p.event.data.i)).toEqual(inputs.map((_, i) => i));
  });

  it('rejects bad input with the right code and writes nothing', async () => {
    const admin = service.client();
    const count = async () => (await service.database.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM events`)[0]!.n;
    const before = await count();
    const mutation = `mutation($input: PublishEventInput!) { publishEvent(input: $input) { event { id } } }`;
    const batch = `mutation($inputs: [PublishEventInput!]!) { publishEvents(inputs: $inputs) { event { id } } }`;

    const unknown = await admin.error(mutation, { input: { type: 'pipeline.run.faild', data: {} } });
    expect(unknown.code).toBe('BAD_USER_INPUT');
    expect(unknown.message).toContain('pipeline.run.failed');

    const notObject = await admin.error(mutation, { input: { type: 'pipeline.run.failed', data: [1, 2] } });
    expect(notObject).toMatchObject({ code: 'BAD_USER_INPUT' });
    expect(notObject.message).toMatch(/JSON object/);

    const big = await admin.error(mutation, { input: { type: 'pipeline.run.failed', data: { blob: 'x'.repeat(256 * 1024) } } });
    expect(big.code).toBe('PAYLOAD_TOO_LARGE');

    const tooMany = await admin.error(batch, { inputs: Array.from({ length: 1001 }, () => ({ type: 'pipeline.run.failed', data: {} })) });
    expect(tooMany.code).toBe('BAD_USER_INPUT');
    expect(tooMany.message).toMatch(/1000/);

    const dupes = await admin.error(batch, {
      inputs: [
        { type: 'pipeline.run.failed', data: {}, eventId: 'same' },
        { type: 'pipeline.run.failed', data: {}, eventId: 'same' },
      ],
    });
    expect(dupes.code).toBe('BAD_USER_INPUT');
    expect(dupes.message).toMatch(/appears twice/);

    // A custom type with a JSON Schema, then deprecated.
    const created = await admin.data(
      `mutation($input: CreateEventTypeInput!) { createEventType(input: $input) { id name } }`,
      { input: { name: 'billing.invoice.paid', schema: { type: 'object', required: ['amount'], properties: { amount: { type: 'number' } } } } },
    );
    const schemaBreak = await admin.error(mutation, { input: { type: 'billing.invoice.paid', data: { amount: 'ten' } } });
    expect(schemaBreak.code).toBe('BAD_USER_INPUT');
    expect(schemaBreak.message).toMatch(/amount/);
    await admin.data(`mutation($id: ID!) { deprecateEventType(id: $id) { id deprecated } }`, { id: created.createEventType.id });
    const deprecated = await admin.error(mutation, { input: { type: 'billing.invoice.paid', data: { amount: 1 } } });
    expect(deprecated.code).toBe('BAD_USER_INPUT');
    expect(deprecated.message).toMatch(/deprecated/);

    // A batch with one bad event writes none of them.
    const mixed = await admin.error(batch, { inputs: [{ type: 'pipeline.run.failed', data: {} }, { type: 'nope.nope', data: {} }] });
    expect(mixed.code).toBe('BAD_USER_INPUT');
    expect(await count()).toBe(before);
  });

  it('publishes security.api_key.created when a key is created', async () => {
    const admin = service.client();
    const created = await admin.data(`mutation { createApiKey(role: VIEWER, name: "audit me") { apiKey { id } key } }`);
    const [row] = await service.database.sql<{ data: Record<string, unknown> }[]>`
      SELECT data FROM events WHERE type = 'security.api_key.created' AND data->>'apiKeyId' = ${created.createApiKey.apiKey.id}`;
    expect(row!.data).toMatchObject({ name: 'audit me', role: 'viewer' });
    expect(JSON.stringify(row!.data)).not.toContain(created.createApiKey.key);
  });
});

describe('test events', () => {
  it('sends webhook.test synchronously, ignoring EventSubscriptions and pausing, and records it', async () => {
    const admin = service.client();
    const endpoint = await createEndpoint(admin, { url: hook('/test-ev'), patterns: [] });
    await admin.data(`mutation($id: ID!) { pauseEndpoint(id: $id) { id } }`, { id: endpoint.id });
    const result = await admin.data(
      `mutation($id: ID!) { sendTestEvent(endpointId: $id) { id trigger succeeded responseStatus durationMs delivery { status isTest event { type } } } }`,
      { id: endpoint.id },
    );
    expect(result.sendTestEvent).toMatchObject({
      trigger: 'TEST',
      succeeded: true,
      responseStatus: 200,
      delivery: { status: 'SUCCEEDED', isTest: true, event: { type: 'webhook.test' } },
    });
    const request = receiver.requests.find((r) => r.path === '/test-ev')!;
    expect(new Webhook(endpoint.secret!).verify(request.rawBody, request.headers)).toMatchObject({ type: 'webhook.test' });
  });

  it('reports a failed test attempt with its error class', async () => {
    const admin = service.client();
    const endpoint = await createEndpoint(admin, { url: 'http://127.0.0.1:1/nothing-listens', patterns: [] });
    const result = await admin.data(
      `mutation($id: ID!) { sendTestEvent(endpointId: $id) { succeeded errorClass errorMessage delivery { status } } }`,
      { id: endpoint.id },
    );
    expect(result.sendTestEvent).toMatchObject({ succeeded: false, errorClass: 'CONNECTION', delivery: { status: 'DEAD' } });
  });
});

describe('reads', () => {
  it('lists events and deliveries with filters and pages', async () => {
    const admin = service.client();
    const endpoint = await createEndpoint(admin, { url: hook('/reads'), patterns: ['security.sso_certificate.expiring'] });
    const published = [];
    for (let i = 0; i < 5; i++) published.push(await publish(admin, { type: 'security.sso_certificate.expiring', data: { i } }));
    await waitUntil('deliveries', async () => {
      const r = await admin.data(`query($f: DeliveryFilter) { deliveries(filter: $f) { edges { node { id status } } } }`, {
        f: { endpointId: endpoint.id, statuses: ['SUCCEEDED'] },
      });
      return r.deliveries.edges.length === 5;
    });
    const page1 = await admin.data(
      `query($f: DeliveryFilter) { deliveries(first: 2, filter: $f) { edges { node { id event { id } } } pageInfo { hasNextPage endCursor } } }`,
      { f: { endpointId: endpoint.id } },
    );
    expect(page1.deliveries.edges).toHaveLength(2);
    expect(page1.deliveries.pageInfo.hasNextPage).toBe(true);
    const page2 = await admin.data(
      `query($f: DeliveryFilter, $after: String) { deliveries(first: 10, after: $after, filter: $f) { edges { node { id } } pageInfo { hasNextPage } } }`,
      { f: { endpointId: endpoint.id }, after: page1.deliveries.pageInfo.endCursor },
    );
    expect(page2.deliveries.edges).toHaveLength(3);
    expect(page2.deliveries.pageInfo.hasNextPage).toBe(false);
    // Newest first.
    expect(page1.deliveries.edges[0].node.event.id).toBe(published[4]!.event.id);

    const events = await admin.data(`query { events(first: 3, filter: { type: "security.sso_certificate.expiring" }) { edges { node { id data deliveries { status } } } } }`);
    expect(events.events.edges).toHaveLength(3);
    const one = await admin.data(`query($id: ID!) { event(id: $id) { id type data deliveries { endpoint { id } attempts { attemptNumber } } } }`, {
      id: published[0]!.event.id,
    });
    // The event also reached the catch-all endpoint of an earlier test.
    const mine = one.event.deliveries.find((d: { endpoint: { id: string } }) => d.endpoint.id === endpoint.id);
    expect(mine.attempts).toEqual([{ attemptNumber: 1 }]);
  });

  it('hides payloads from viewers', async () => {
    const admin = service.client();
    const published = await publish(admin, { type: 'security.policy.changed', data: { visible: 'no' } });
    const key = await admin.data(`mutation { createApiKey(role: VIEWER, name: "v") { key } }`);
    const viewer = service.client(key.createApiKey.key);
    const got = await viewer.data(`query($id: ID!) { event(id: $id) { id data } }`, { id: published.event.id });
    expect(got.event).toEqual({ id: published.event.id, data: null });
  });
});
