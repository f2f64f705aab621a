import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startReceiver, type Receiver } from '../helpers/receiver.js';
import { startTestService, type TestService } from '../helpers/service.js';
import { graphqlClient, type GraphQLClient } from '../helpers/graphql.js';
import { createEndpoint, waitUntil } from '../helpers/flows.js';

const PLATFORM_TOKEN = 'platform-operator-token-0123456789abcdefghijklmnop';

let service: TestService;
let receiver: Receiver;
let platform: GraphQLClient;
/** Requests to /slow answer after this long (the test changes it). */
let slowMs = 0;

beforeAll(async () => {
  service = await startTestService({ WEBHOOKS_PLATFORM_TOKEN: PLATFORM_TOKEN });
  receiver = await startReceiver({
    respond: (req) => (req.path === '/slow' ? { status: 200, delayMs: slowMs } : { status: 200 }),
  });
  platform = graphqlClient(`${service.url}/graphql`, PLATFORM_TOKEN);
});
afterAll(async () => {
  await receiver?.close();
  await service?.close();
});

const CREATE = `mutation($name: String!, $plan: Plan) { createOrganization(name: $name, plan: $plan) { organization { id name plan createdAt } apiKey } }`;
const SET_PLAN = `mutation($id: ID!, $plan: Plan!) { setOrganizationPlan(id: $id, plan: $plan) { id plan } }`;
const LIST = `query($first: Int, $after: String) { organizations(first: $first, after: $after) { edges { node { id name plan } } pageInfo { hasNextPage endCursor } } }`;
const PUBLISH = `mutation($inputs: [PublishEventInput!]!) { publishEvents(inputs: $inputs) { event { id } deliveryCount } }`;

async function newOrganization(name: string, plan?: string) {
  const created = (await platform.data(CREATE, { name, plan })).createOrganization;
  return { id: created.organization.id as string, client: service.client(created.apiKey as string), created };
}

const delivered = (path: string) => receiver.requests.filter((r) => r.path === path).length;

describe('organization provisioning by the platform', () => {
  it('creates an organization with its first admin key, shown once, which works at once', async () => {
    const { created, client, id } = await newOrganization('acme');
    expect(created.organization).toMatchObject({ name: 'acme', plan: 'enterprise' });
    expect(created.apiKey).toMatch(/^whk_/);
    expect((await client.data(`{ viewer { role org { id name plan createdAt } } }`)).viewer).toEqual({
      role: 'ADMIN',
      org: { id, name: 'acme', plan: 'enterprise', createdAt: created.organization.createdAt },
    });
    await createEndpoint(client, { url: `${receiver.url}/acme`, patterns: ['pipeline.*'] });
    await client.data(PUBLISH, { inputs: [{ type: 'pipeline.run.failed', data: {} }] });
    await waitUntil('delivered', async () => delivered('/acme') === 1);
  });

  it('lists organizations newest first, page by page', async () => {
    await newOrganization('list-a', 'starter');
    await newOrganization('list-b', 'professional');
    const first = (await platform.data(LIST, { first: 2 })).organizations;
    expect(first.edges.map((e: any) => e.node.name)).toEqual(['list-b', 'list-a']);
    expect(first.pageInfo.hasNextPage).toBe(true);
    const rest = (await platform.data(LIST, { first: 100, after: first.pageInfo.endCursor })).organizations;
    expect(rest.edges.map((e: any) => e.node.name)).toContain('default');
  });

  it('refuses bad input clearly', async () => {
    expect(await platform.error(CREATE, { name: 'acme' })).toMatchObject({ code: 'BAD_USER_INPUT' });
    expect(await platform.error(CREATE, { name: ' ' })).toMatchObject({ code: 'BAD_USER_INPUT' });
    expect(await platform.error(SET_PLAN, { id: 'org_01M8YCMD29HE3AK94XEEDSNJGH', plan: 'starter' })).toMatchObject({ code: 'NOT_FOUND' });
  });

  it('never lets an organization key provision, nor the platform credential read an organization', async () => {
    const admin = service.client();
    expect(await admin.error(CREATE, { name: 'sneaky' })).toMatchObject({ code: 'FORBIDDEN' });
    expect(await admin.error(SET_PLAN, { id: service.orgId, plan: 'enterprise' })).toMatchObject({ code: 'FORBIDDEN' });
    expect(await admin.error(LIST, {})).toMatchObject({ code: 'FORBIDDEN' });
    for (const query of [`{ viewer { role } }`, `{ endpoints(first: 1) { edges { node { id } } } }`, `{ deliveries(first: 1) { edges { node { id } } } }`]) {
      expect(await platform.error(query)).toMatchObject({ code: 'FORBIDDEN' });
    }
    expect(await platform.error(PUBLISH, { inputs: [{ type: 'pipeline.run.failed', data: {} }] })).toMatchObject({ code: 'FORBIDDEN' });
    const wrong = graphqlClient(`${service.url}/graphql`, `${PLATFORM_TOKEN}x`);
    expect(await wrong.error(LIST, {})).toMatchObject({ code: 'UNAUTHENTICATED' });
    expect(await graphqlClient(`${service.url}/graphql`, null).error(LIST, {})).toMatchObject({ code: 'UNAUTHENTICATED' });
  });

  it('downgrading holds queued deliveries and makes no new ones, keeps the configuration; upgrading sends what waited', async () => {
    const { id, client } = await newOrganization('downgraded');
    const endpoint = await createEndpoint(client, { url: `${receiver.url}/slow`, patterns: ['pipeline.*'], maxInFlight: 1 });
    slowMs = 600;
    const queued = (await client.data(PUBLISH, { inputs: Array.from({ length: 5 }, (_, i) => ({ type: 'pipeline.run.started', data: { i } })) })).publishEvents;
    expect(queued.map((p: any) => p.deliveryCount)).toEqual([1, 1, 1, 1, 1]);
    await waitUntil('the first delivery under way', async () => delivered('/slow') >= 1);

    expect((await platform.data(SET_PLAN, { id, plan: 'professional' })).setOrganizationPlan).toEqual({ id, plan: 'professional' });
    slowMs = 0;
    // What was in flight finishes; nothing else goes while downgraded.
    await new Promise((r) => setTimeout(r, 2500));
    const sentWhileDowngraded = delivered('/slow');
    expect(sentWhileDowngraded).toBeLessThanOrEqual(2);
    const published = (await client.data(PUBLISH, { inputs: [{ type: 'pipeline.run.failed', data: { late: true } }] })).publishEvents;
    expect(published[0].deliveryCount).toBe(0);
    const statuses = await service.database.sql<{ status: string; n: number }[]>`
      SELECT status, count(*)::int AS n FROM deliveries WHERE endpoint_id = ${endpoint.id} GROUP BY status`;
    expect(Object.fromEntries(statuses.map((s) => [s.status, s.n]))).toEqual({ SUCCEEDED: sentWhileDowngraded, PENDING: 5 - sentWhileDowngraded });
    // The configuration stays and can be read; changing it is an enterprise feature.
    expect((await client.data(`{ endpoints(first: 5) { edges { node { id } } } }`)).endpoints.edges).toHaveLength(1);
    expect((await client.error(`mutation($id: ID!) { pauseEndpoint(id: $id) { id } }`, { id: endpoint.id })).code).toBe('FEATURE_NOT_AVAILABLE');
    expect((await client.data(`{ viewer { plan } }`)).viewer.plan).toBe('professional');

    await platform.data(SET_PLAN, { id, plan: 'enterprise' });
    await waitUntil('the held deliveries sent', async () => delivered('/slow') === 5, 15_000);
    const order = receiver.requests.filter((r) => r.path === '/slow').map((r) => JSON.parse(r.rawBody).data.i);
    expect(order).toEqual([0, 1, 2, 3, 4]);
    // The event published while downgraded is never delivered; new ones are.
    await client.data(PUBLISH, { inputs: [{ type: 'pipeline.run.failed', data: { after: true } }] });
    await waitUntil('the new one delivered', async () => delivered('/slow') === 6);
    expect(receiver.requests.filter((r) => r.path === '/slow').some((r) => JSON.parse(r.rawBody).data.late)).toBe(false);
  });
});

describe('without WEBHOOKS_PLATFORM_TOKEN', () => {
  it('has no platform credential at all', async () => {
    const plain = await startTestService();
    try {
      const attempt = graphqlClient(`${plain.url}/graphql`, PLATFORM_TOKEN);
      expect(await attempt.error(LIST, {})).toMatchObject({ code: 'UNAUTHENTICATED' });
    } finally {
      await plain.close();
    }
  });
});
