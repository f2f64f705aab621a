import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestService, type TestService } from '../helpers/service.js';
import { startReceiver, type Receiver } from '../helpers/receiver.js';
import { createEndpoint, publish, waitForDeliveries, waitUntil } from '../helpers/flows.js';
import { liveSubscribe, wsClient } from '../helpers/live.js';
import type { GraphQLClient } from '../helpers/graphql.js';

let service: TestService;
let receiver: Receiver;
let security: string;
let data: string;

beforeAll(async () => {
  service = await startTestService({ WEBHOOKS_PUBLIC_URL: 'https://hooks.example.test/base/' });
  receiver = await startReceiver();
  const admin = service.client();
  security = (await createEndpoint(admin, { url: `${receiver.url}/security`, labels: ['team:security'], patterns: ['security.*'] })).id;
  data = (await createEndpoint(admin, { url: `${receiver.url}/data`, labels: ['team:data'], patterns: ['security.*', 'pipeline.*'] })).id;
});
afterAll(async () => {
  await receiver?.close();
  await service?.close();
});

const CREATE = `mutation($role: ApiKeyRole!, $ttl: Int, $labels: [String!], $name: String, $color: String) {
  createPortalSession(role: $role, ttlSeconds: $ttl, labels: $labels, displayName: $name, accentColor: $color) { url expiresAt } }`;
const EXCHANGE = `mutation($token: String!) { exchangePortalToken(token: $token) { sessionToken expiresAt role portal { labels displayName accentColor } } }`;

/** Creates a portal link with the admin key and exchanges it like the portal page does. */
async function openPortal(variables: Record<string, unknown>): Promise<{ token: string; client: GraphQLClient; url: string }> {
  const created = await service.client().data(CREATE, variables);
  const url: string = created.createPortalSession.url;
  const linkToken = new URL(url).hash.replace(/^#token=/, '');
  const exchanged = await service.client(null).data(EXCHANGE, { token: linkToken });
  const token = exchanged.exchangePortalToken.sessionToken;
  return { token, client: service.client(token), url };
}

describe('portal sessions', () => {
  it('creates a one-time link (token in the fragment) that is traded once for a session', async () => {
    const created = await service.client().data(CREATE, { role: 'OPERATOR', ttl: 600, name: 'Acme Corp', color: '#0A7D5C' });
    const url = new URL(created.createPortalSession.url);
    expect(`${url.origin}${url.pathname}`).toBe('https://hooks.example.test/base/portal');
    expect(url.search).toBe('');
    expect(url.hash).toMatch(/^#token=whpl_[A-Za-z0-9_-]{43}$/);
    const expiresIn = Date.parse(created.createPortalSession.expiresAt) - Date.now();
    expect(expiresIn).toBeGreaterThan(590_000);
    expect(expiresIn).toBeLessThanOrEqual(600_000);

    const linkToken = url.hash.slice('#token='.length);
    const grant = await service.client(null).data(EXCHANGE, { token: linkToken });
    expect(grant.exchangePortalToken).toMatchObject({ role: 'OPERATOR', portal: { labels: null, displayName: 'Acme Corp', accentColor: '#0a7d5c' } });
    expect(grant.exchangePortalToken.sessionToken).toMatch(/^whps_/);
    const again = await service.client(null).error(EXCHANGE, { token: linkToken });
    expect(again.code).toBe('UNAUTHENTICATED');

    const session = service.client(grant.exchangePortalToken.sessionToken);
    const viewer = await session.data(`{ viewer { role org { id } portal { displayName expiresAt } } }`);
    expect(viewer.viewer).toMatchObject({ role: 'OPERATOR', org: { id: service.orgId }, portal: { displayName: 'Acme Corp' } });
    // Only hashes are stored.
    const [row] = await service.database.sql`SELECT link_hash, session_hash FROM portal_sessions WHERE display_name = 'Acme Corp'`;
    expect(row!.link_hash).toBeNull();
    expect(row!.session_hash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('is for admins with an API key, and checks what it is asked for', async () => {
    const admin = service.client();
    for (const role of ['operator', 'viewer', 'publisher']) {
      const key = (await admin.data(`mutation($r: ApiKeyRole!, $n: String!) { createApiKey(role: $r, name: $n) { key } }`, { r: role.toUpperCase(), n: `portal-${role}` })).createApiKey.key;
      expect((await service.client(key).error(CREATE, { role: 'VIEWER' })).code).toBe('FORBIDDEN');
      expect((await service.client(key).error(`mutation { revokePortalSessions }`)).code).toBe('FORBIDDEN');
    }
    const bad = await admin.error(CREATE, { role: 'PUBLISHER', ttl: 10, labels: [], color: 'red' });
    expect(bad.code).toBe('BAD_USER_INPUT');
    expect((bad.extensions.problems as { field: string }[]).map((p) => p.field).sort()).toEqual(['accentColor', 'labels', 'role', 'ttlSeconds']);
    const { client } = await openPortal({ role: 'ADMIN' });
    // A portal session is not an API key, even with the admin role.
    for (const query of [
      `mutation { createApiKey(role: ADMIN, name: "x") { key } }`,
      `{ apiKeys(first: 1) { edges { node { id } } } }`,
      `mutation { createEventType(input: { name: "acme.thing.done", category: "acme" }) { id } }`,
      `mutation { publishEvent(input: { type: "pipeline.run.started", data: {} }) { deliveryCount } }`,
      `mutation { createPortalSession(role: ADMIN) { url } }`,
      `mutation { revokePortalSessions }`,
    ]) {
      expect((await client.error(query)).code).toBe('FORBIDDEN');
    }
  });

  it('with labels, sees and creates only endpoints carrying one of them, over the whole API', async () => {
    const admin = service.client();
    const secEvent = await publish(admin, { type: 'security.policy.changed', data: { p: 1 } });
    const dataEvent = await publish(admin, { type: 'pipeline.run.failed', data: { r: 1 } });
    const rows = [...(await waitForDeliveries(service, secEvent.event.id, ['SUCCEEDED'])), ...(await waitForDeliveries(service, dataEvent.event.id, ['SUCCEEDED']))];
    const secDelivery = rows.find((r) => r.endpoint_id === security)!.id;
    const dataDelivery = rows.find((r) => r.endpoint_id === data)!.id;

    const { client } = await openPortal({ role: 'ADMIN', labels: ['team:security'] });
    const listed = await client.data(`{ endpoints(first: 50) { edges { node { id labels } } } }`);
    expect(listed.endpoints.edges.map((e: { node: { id: string } }) => e.node.id)).toEqual([security]);
    for (const [query, variables] of [
      [`query($id: ID!) { endpoint(id: $id) { id } }`, { id: data }],
      [`query($id: ID!) { delivery(id: $id) { id } }`, { id: dataDelivery }],
      [`query($id: ID!) { event(id: $id) { id } }`, { id: dataEvent.event.id }],
      [`query($id: ID!) { deliveryStats(endpointId: $id, since: "2026-01-01T00:00:00Z", bucketSeconds: 86400) { total } }`, { id: data }],
      [`query($id: ID!) { signingKeys(endpointId: $id) { id } }`, { id: data }],
      [`mutation($id: ID!) { pauseEndpoint(id: $id) { id } }`, { id: data }],
      [`mutation($id: ID!) { updateEndpoint(id: $id, input: { description: "x" }) { id } }`, { id: data }],
      [`mutation($id: ID!) { deleteEndpoint(id: $id) { deletedEndpointId } }`, { id: data }],
      [`mutation($id: ID!) { retryDelivery(id: $id) { id } }`, { id: dataDelivery }],
      [`mutation($id: ID!) { sendTestEvent(endpointId: $id) { id } }`, { id: data }],
      [`mutation($id: ID!) { rotateSigningKey(endpointId: $id) { secret } }`, { id: data }],
      [`query($id: ID!) { deliveries(first: 5, filter: { endpointId: $id }) { edges { node { id } } } }`, { id: data }],
    ] as const) {
      const error = await client.error(query, variables);
      expect([query, error.code]).toEqual([query, 'NOT_FOUND']);
    }
    const deliveries = await client.data(`{ deliveries(first: 100) { edges { node { id endpoint { id } } } } }`);
    const seen = deliveries.deliveries.edges.map((e: { node: { id: string; endpoint: { id: string } } }) => e.node);
    expect(seen.map((d: { id: string }) => d.id)).toContain(secDelivery);
    expect(seen.every((d: { endpoint: { id: string } }) => d.endpoint.id === security)).toBe(true);
    const events = await client.data(`{ events(first: 100) { edges { node { id deliveries { endpoint { id } } } } } }`);
    const eventIds = events.events.edges.map((e: { node: { id: string } }) => e.node.id);
    expect(eventIds).toContain(secEvent.event.id);
    expect(eventIds).not.toContain(dataEvent.event.id);
    // The event of both endpoints shows only the visible delivery.
    const both = await publish(admin, { type: 'security.api_key.created', data: { k: 1 } });
    await waitForDeliveries(service, both.event.id, ['SUCCEEDED']);
    const shared = await client.data(`query($id: ID!) { event(id: $id) { deliveries { endpoint { id } } } }`, { id: both.event.id });
    expect(shared.event.deliveries.map((d: { endpoint: { id: string } }) => d.endpoint.id)).toEqual([security]);
    expect((await client.data(`query($id: ID!) { delivery(id: $id) { id attempts { id } } }`, { id: secDelivery })).delivery.id).toBe(secDelivery);

    // Creating: only with one of its labels, and never moving an endpoint out of its view.
    const outside = await client.error(`mutation { createEndpoint(input: { url: "${receiver.url}/x", labels: ["team:data"] }) { endpoint { id } } }`);
    expect(outside).toMatchObject({ code: 'BAD_USER_INPUT', extensions: { field: 'labels' } });
    const none = await client.error(`mutation { createEndpoint(input: { url: "${receiver.url}/x" }) { endpoint { id } } }`);
    expect(none.code).toBe('BAD_USER_INPUT');
    const created = await client.data(`mutation { createEndpoint(input: { url: "${receiver.url}/mine", labels: ["team:security", "extra"] }) { endpoint { id labels } } }`);
    expect(created.createEndpoint.endpoint.labels).toEqual(['team:security', 'extra']);
    const moved = await client.error(`mutation($id: ID!) { updateEndpoint(id: $id, input: { labels: ["team:data"] }) { id } }`, { id: created.createEndpoint.endpoint.id });
    expect(moved.code).toBe('BAD_USER_INPUT');
    // The unscoped admin key still sees everything.
    const all = await admin.data(`{ endpoints(first: 50) { edges { node { id } } } }`);
    expect(all.endpoints.edges.length).toBeGreaterThanOrEqual(3);
  });

  it('with labels, receives only its endpoints\' attempts and health changes on live streams', async () => {
    const admin = service.client();
    const { token } = await openPortal({ role: 'VIEWER', labels: ['team:security'] });
    const ws = wsClient(service.url, token);
    const attempts = liveSubscribe(ws, `subscription { deliveryAttempts { id endpoint { id } } }`);
    const health = liveSubscribe(ws, `subscription { endpointHealth { endpointId reason } }`);
    const unscoped = liveSubscribe(wsClient(service.url, service.adminKey), `subscription { deliveryAttempts { id endpoint { id } } }`);
    await new Promise((r) => setTimeout(r, 300));
    const before = unscoped.messages.length;
    const p1 = await publish(admin, { type: 'pipeline.run.failed', data: { n: 1 } });
    const p2 = await publish(admin, { type: 'security.policy.changed', data: { n: 2 } });
    await waitForDeliveries(service, p1.event.id, ['SUCCEEDED']);
    await waitForDeliveries(service, p2.event.id, ['SUCCEEDED']);
    await admin.data(`mutation($id: ID!) { pauseEndpoint(id: $id) { id } }`, { id: data });
    await admin.data(`mutation($id: ID!) { resumeEndpoint(id: $id) { id } }`, { id: data });
    await admin.data(`mutation($id: ID!) { pauseEndpoint(id: $id) { id } }`, { id: security });
    await admin.data(`mutation($id: ID!) { resumeEndpoint(id: $id) { id } }`, { id: security });
    await unscoped.waitFor(before + 3);
    // p1 reached only the data endpoint, p2 both: the security session sees p2's attempt to its endpoint.
    await attempts.waitFor(1);
    await health.waitFor(2);
    await new Promise((r) => setTimeout(r, 500));
    expect(attempts.messages.map((m) => m.endpoint.id)).toEqual([security]);
    expect(health.messages.map((m) => m.endpointId)).toEqual([security, security]);
    // Subscribing to another label's endpoint is NOT_FOUND.
    const other = liveSubscribe(ws, `subscription($id: ID!) { deliveryAttempts(endpointId: $id) { id } }`, { id: data });
    await other.ended();
    expect(JSON.stringify(other.failure ?? other.errors)).toMatch(/NOT_FOUND/);
    unscoped.unsubscribe();
    await ws.dispose();
  });

  it('revokePortalSessions ends every session at once and closes its open sockets', async () => {
    const { token, client } = await openPortal({ role: 'VIEWER', ttl: 3600 });
    const pending = await service.client().data(CREATE, { role: 'VIEWER' });
    const ws = wsClient(service.url, token);
    const stream = liveSubscribe(ws, `subscription { deliveryAttempts { id } }`);
    await client.data(`{ viewer { role } }`);
    await waitUntil('the socket to be open', async () => (await service.client().data(`{ viewer { role } }`)) && stream.failure === null);
    await new Promise((r) => setTimeout(r, 300));
    const revoked = await service.client().data(`mutation { revokePortalSessions }`);
    expect(revoked.revokePortalSessions).toBeGreaterThanOrEqual(2);
    await stream.ended();
    expect((stream.failure as { code?: number }).code).toBe(4401);
    const after = await client.error(`{ viewer { role } }`);
    expect(after).toMatchObject({ code: 'UNAUTHENTICATED', message: expect.stringMatching(/revoked/) });
    // A link not yet used is dead too.
    const link = new URL(pending.createPortalSession.url).hash.slice('#token='.length);
    expect((await service.client(null).error(EXCHANGE, { token: link })).code).toBe('UNAUTHENTICATED');
    await ws.dispose();
  });

  it('expires: the session stops working and its sockets close at expiry', async () => {
    const { token, client } = await openPortal({ role: 'VIEWER', ttl: 60, name: 'short-lived' });
    // Shorten its life in the database before this process first reads it.
    await service.database.sql`UPDATE portal_sessions SET expires_at = now() + interval '2 seconds' WHERE display_name = 'short-lived'`;
    const ws = wsClient(service.url, token);
    const stream = liveSubscribe(ws, `subscription { deliveryAttempts { id } }`);
    expect((await client.data(`{ viewer { role } }`)).viewer.role).toBe('VIEWER');
    await stream.ended(10_000);
    expect((stream.failure as { code?: number }).code).toBe(4401);
    expect(await client.error(`{ viewer { role } }`)).toMatchObject({ code: 'UNAUTHENTICATED', message: expect.stringMatching(/expired/) });
    await ws.dispose();
  });

  it('a link expired before it was used cannot be exchanged; a forged session token is refused', async () => {
    const created = await service.client().data(CREATE, { role: 'VIEWER', name: 'stale' });
    await service.database.sql`UPDATE portal_sessions SET expires_at = now() - interval '1 second' WHERE display_name = 'stale'`;
    const link = new URL(created.createPortalSession.url).hash.slice('#token='.length);
    expect((await service.client(null).error(EXCHANGE, { token: link })).code).toBe('UNAUTHENTICATED');
    expect((await service.client('whps_forged').error(`{ viewer { role } }`)).code).toBe('UNAUTHENTICATED');
    expect((await service.client(null).error(EXCHANGE, { token: 'whk_notalink' })).code).toBe('UNAUTHENTICATED');
  });
});
