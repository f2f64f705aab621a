/**
 * What the console's investigation views read from the API: endpoint health from the recent
 * failure rate, the backlog behind an endpoint, the exact request body, finding an event by the
 * caller's eventId, and test events of any catalog type. Real receivers on loopback.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestService, type TestService } from '../helpers/service.js';
import { startReceiver, type Receiver } from '../helpers/receiver.js';
import { createEndpoint, publish, waitForDeliveries, waitUntil } from '../helpers/flows.js';
import { verifyWebhook } from '../../server/verify.js';

const CREATE_KEY = `mutation($role: ApiKeyRole!, $name: String!) { createApiKey(role: $role, name: $name) { key } }`;
const HEALTH = `query($id: ID!) { endpoint(id: $id) { health { status recentFailureRate recentAttempts recentFailures consecutiveFailures lastAttemptAt reason } } }`;

let service: TestService;
let receiver: Receiver;

beforeAll(async () => {
  [service, receiver] = await Promise.all([
    startTestService(),
    startReceiver({ respond: (req) => (req.path.startsWith('/fail') ? { status: 500, body: 'nope' } : req.path.startsWith('/flaky') && req.rawBody.includes('"odd"') ? { status: 502 } : { status: 200 }) }),
  ]);
});
afterAll(async () => {
  await receiver?.close();
  await service?.close();
});

describe('Endpoint.health', () => {
  it('is FAILING for an endpoint answering 500 to everything with its breaker off, and HEALTHY with no traffic', async () => {
    const admin = service.client();
    const endpoint = await createEndpoint(admin, {
      url: `${receiver.url}/fail`,
      patterns: ['pipeline.run.failed'],
      circuitBreaker: { enabled: false },
      retryPolicy: { maxAttempts: 1 },
    });
    expect((await admin.data(HEALTH, { id: endpoint.id })).endpoint.health).toMatchObject({ status: 'HEALTHY', recentAttempts: 0, recentFailureRate: null });
    const events = [];
    for (let i = 0; i < 6; i++) events.push((await publish(admin, { type: 'pipeline.run.failed', data: { i } })).event.id);
    for (const id of events) await waitForDeliveries(service, id, ['DEAD']);
    const { health } = (await admin.data(HEALTH, { id: endpoint.id })).endpoint;
    expect(health).toMatchObject({ status: 'FAILING', recentAttempts: 6, recentFailures: 6, recentFailureRate: 1 });
    expect(health.reason).toMatch(/6 of the last 6 attempts failed/);
    // The circuit state stays CLOSED (breaker off): only the failure rate says something is wrong.
    expect((await admin.data(`query($id: ID!) { endpoint(id: $id) { circuitState } }`, { id: endpoint.id })).endpoint.circuitState).toBe('CLOSED');
  });

  it('is DEGRADED from a 10% failure rate, and batched over a list for every role that reads', async () => {
    const admin = service.client();
    const endpoint = await createEndpoint(admin, { url: `${receiver.url}/flaky`, patterns: ['pipeline.run.started'], retryPolicy: { maxAttempts: 1 } });
    const events = [];
    for (let i = 0; i < 10; i++) events.push((await publish(admin, { type: 'pipeline.run.started', data: { kind: i < 2 ? 'odd' : 'even' } })).event.id);
    for (const id of events) await waitForDeliveries(service, id, ['DEAD', 'SUCCEEDED']);
    const viewerKey = (await admin.data(CREATE_KEY, { role: 'VIEWER', name: 'health viewer' })).createApiKey.key;
    const { endpoints } = await service.client(viewerKey).data(`{ endpoints(first: 50) { edges { node { id health { status recentFailureRate } } } } }`);
    const mine = endpoints.edges.find((e: { node: { id: string } }) => e.node.id === endpoint.id).node;
    expect(mine.health).toEqual({ status: 'DEGRADED', recentFailureRate: 0.2 });
  });
});

describe('Endpoint.backlog', () => {
  it('counts the deliveries waiting behind an open circuit and says since when', async () => {
    const admin = service.client();
    const endpoint = await createEndpoint(admin, {
      url: `${receiver.url}/fail-backlog`,
      patterns: ['orchestration.job.queued'],
      circuitBreaker: { enabled: true, failureThreshold: 1, cooldownSeconds: 3600 },
      retryPolicy: { initialBackoffSeconds: 3600, maxBackoffSeconds: 3600, maxAttempts: 5 },
    });
    const query = `query($id: ID!) { endpoint(id: $id) { circuitState circuitOpenedAt backlog { count capped oldestCreatedAt } } }`;
    expect((await admin.data(query, { id: endpoint.id })).endpoint.backlog).toEqual({ count: 0, capped: false, oldestCreatedAt: null });
    const first = await publish(admin, { type: 'orchestration.job.queued', data: { n: 1 } });
    await waitUntil('the circuit to open', async () => (await admin.data(query, { id: endpoint.id })).endpoint.circuitState === 'OPEN');
    await publish(admin, { type: 'orchestration.job.queued', data: { n: 2 } });
    await publish(admin, { type: 'orchestration.job.queued', data: { n: 3 } });
    const [row] = await service.database.sql<{ created_at: Date }[]>`SELECT created_at FROM deliveries WHERE event_id = ${first.event.id}`;
    const { endpoint: seen } = await admin.data(query, { id: endpoint.id });
    expect(seen.backlog).toEqual({ count: 3, capped: false, oldestCreatedAt: row!.created_at.toISOString() });
    expect(Date.parse(seen.circuitOpenedAt)).toBeGreaterThanOrEqual(row!.created_at.getTime());
  });
});

describe('Delivery.requestBody', () => {
  it('is byte for byte the body the receiver got, for admins and operators; null for viewers and once purged', async () => {
    const admin = service.client();
    const endpoint = await createEndpoint(admin, { url: `${receiver.url}/exact`, patterns: ['governance.catalog.sync_finished'] });
    const before = receiver.requests.length;
    const published = await publish(admin, { type: 'governance.catalog.sync_finished', data: { z: 1, a: [1, { b: 'é "quoted"' }], nested: { x: null } } });
    const [delivery] = await waitForDeliveries(service, published.event.id, ['SUCCEEDED']);
    const got = receiver.requests.slice(before).find((r) => r.path === '/exact')!;
    const query = `query($id: ID!) { delivery(id: $id) { requestBody attempts { requestHeaders } } }`;
    const { delivery: seen } = await admin.data(query, { id: delivery!.id });
    expect(seen.requestBody).toBe(got.rawBody);
    expect(seen.attempts[0].requestHeaders['webhook-id']).toBe(published.event.id);
    // The signature recorded with the attempt verifies against the body shown.
    expect(() => verifyWebhook(seen.requestBody, seen.attempts[0].requestHeaders, { secret: endpoint.secret!, toleranceSeconds: 3600 })).not.toThrow();

    const operatorKey = (await admin.data(CREATE_KEY, { role: 'OPERATOR', name: 'body operator' })).createApiKey.key;
    expect((await service.client(operatorKey).data(query, { id: delivery!.id })).delivery.requestBody).toBe(got.rawBody);
    const viewerKey = (await admin.data(CREATE_KEY, { role: 'VIEWER', name: 'body viewer' })).createApiKey.key;
    expect((await service.client(viewerKey).data(query, { id: delivery!.id })).delivery.requestBody).toBeNull();

    await service.database.sql`UPDATE events SET data = NULL, payload_purged_at = now() WHERE id = ${published.event.id}`;
    expect((await admin.data(query, { id: delivery!.id })).delivery.requestBody).toBeNull();
  });

  it('is exact for test events too', async () => {
    const admin = service.client();
    const endpoint = await createEndpoint(admin, { url: `${receiver.url}/exact-test`, patterns: [] });
    const { sendTestEvent } = await admin.data(`mutation($id: ID!) { sendTestEvent(endpointId: $id) { delivery { requestBody } } }`, { id: endpoint.id });
    expect(sendTestEvent.delivery.requestBody).toBe(receiver.requests.at(-1)!.rawBody);
  });
});

describe('events(filter: { eventId })', () => {
  it("finds an event by the caller's idempotency key, only in the caller's organization", async () => {
    const admin = service.client();
    const published = await publish(admin, { type: 'pipeline.run.failed', data: { run: 8841 }, eventId: 'run_8841:failed' });
    const query = `query($key: String!) { events(first: 5, filter: { eventId: $key }) { edges { node { id eventId } } } }`;
    const { events } = await admin.data(query, { key: 'run_8841:failed' });
    expect(events.edges).toEqual([{ node: { id: published.event.id, eventId: 'run_8841:failed' } }]);
    const other = await service.services.organizations.createOrganization({ name: 'lookup-other', plan: 'enterprise' });
    expect((await service.client(other.apiKey).data(query, { key: 'run_8841:failed' })).events.edges).toEqual([]);
  });
});

describe('sendTestEvent(type, data)', () => {
  const SEND = `mutation($id: ID!, $type: String, $data: JSON) { sendTestEvent(endpointId: $id, type: $type, data: $data) { succeeded delivery { isTest eventType event { type data } } } }`;

  it('sends a catalog type with the given payload, validated against the type schema', async () => {
    const admin = service.client();
    await admin.data(`mutation { createEventType(input: { name: "acme.invoice.paid", schema: { type: "object", required: ["invoiceId"], properties: { invoiceId: { type: "string" } } } }) { id } }`);
    const endpoint = await createEndpoint(admin, { url: `${receiver.url}/typed`, patterns: [] });
    const bad = await admin.error(SEND, { id: endpoint.id, type: 'acme.invoice.paid', data: { invoiceId: 7 } });
    expect(bad).toMatchObject({ code: 'BAD_USER_INPUT', extensions: { field: 'data' } });
    expect(bad.message).toMatch(/invoiceId/);
    const unknown = await admin.error(SEND, { id: endpoint.id, type: 'acme.invoice.payed', data: {} });
    expect(unknown).toMatchObject({ code: 'BAD_USER_INPUT', extensions: { field: 'type' } });
    expect(unknown.message).toMatch(/acme\.invoice\.paid/);
    expect((await admin.error(SEND, { id: endpoint.id, type: 'acme.invoice.paid', data: [1] })).code).toBe('BAD_USER_INPUT');

    const before = receiver.requests.length;
    const { sendTestEvent } = await admin.data(SEND, { id: endpoint.id, type: 'acme.invoice.paid', data: { invoiceId: 'inv_1' } });
    expect(sendTestEvent).toMatchObject({ succeeded: true, delivery: { isTest: true, eventType: 'acme.invoice.paid', event: { type: 'acme.invoice.paid', data: { invoiceId: 'inv_1' } } } });
    const body = JSON.parse(receiver.requests[before]!.rawBody);
    expect(body).toMatchObject({ type: 'acme.invoice.paid', data: { invoiceId: 'inv_1' } });

    // Without arguments it is still the webhook.test event it always was.
    const plain = await admin.data(SEND, { id: endpoint.id });
    expect(plain.sendTestEvent.delivery.event.type).toBe('webhook.test');
    expect(plain.sendTestEvent.delivery.event.data.message).toMatch(/test event/);
  });
});

describe('endpointUrlPolicy', () => {
  it('says whether http:// URLs are accepted', async () => {
    expect((await service.client().data(`{ endpointUrlPolicy { allowHttp } }`)).endpointUrlPolicy).toEqual({ allowHttp: true });
    const strict = await startTestService({ WEBHOOKS_ALLOW_HTTP: 'false' });
    try {
      expect((await strict.client().data(`{ endpointUrlPolicy { allowHttp } }`)).endpointUrlPolicy).toEqual({ allowHttp: false });
    } finally {
      await strict.close();
    }
  });
});
