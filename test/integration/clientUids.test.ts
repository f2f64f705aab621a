/**
 * Client uids on endpoints and custom event types: validation, uniqueness per organization,
 * and every argument that takes an endpoint (or event type) id accepting the uid instead, with
 * another organization's uids answering NOT_FOUND.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestService, type TestService } from '../helpers/service.js';
import type { GraphQLClient } from '../helpers/graphql.js';
import { startReceiver, type Receiver } from '../helpers/receiver.js';
import { liveSubscribe, wsClient } from '../helpers/live.js';
import { waitUntil } from '../helpers/flows.js';

const CREATE = `mutation($input: CreateEndpointInput!) { createEndpoint(input: $input) { secret endpoint { id uid url } } }`;
const UPDATE = `mutation($id: ID!, $input: UpdateEndpointInput!) { updateEndpoint(id: $id, input: $input) { id uid description } }`;
const GET = `query($id: ID!) { endpoint(id: $id) { id uid } }`;
const CREATE_TYPE = `mutation($input: CreateEventTypeInput!) { createEventType(input: $input) { id uid name deprecated } }`;
const UPDATE_TYPE = `mutation($id: ID!, $input: UpdateEventTypeInput!) { updateEventType(id: $id, input: $input) { id uid name category description schema deprecated } }`;
const CREATE_KEY = `mutation($role: ApiKeyRole!, $name: String!) { createApiKey(role: $role, name: $name) { key } }`;

let service: TestService;
let admin: GraphQLClient;
let other: GraphQLClient;
let otherKey: string;
let keys: Record<'operator' | 'publisher' | 'viewer', string>;
let receiver: Receiver;

beforeAll(async () => {
  service = await startTestService();
  admin = service.client();
  receiver = await startReceiver();
  keys = {
    operator: (await admin.data(CREATE_KEY, { role: 'OPERATOR', name: 'ops' })).createApiKey.key,
    publisher: (await admin.data(CREATE_KEY, { role: 'PUBLISHER', name: 'pub' })).createApiKey.key,
    viewer: (await admin.data(CREATE_KEY, { role: 'VIEWER', name: 'view' })).createApiKey.key,
  };
  const otherOrg = await service.services.organizations.createOrganization({ name: 'other-org', plan: 'enterprise' });
  otherKey = otherOrg.apiKey;
  other = service.client(otherKey);
});

afterAll(async () => {
  await receiver?.close();
  await service?.close();
});

const create = async (uid: string | null, client = admin, extra: Record<string, unknown> = {}) =>
  (await client.data(CREATE, { input: { url: `${receiver.url}/${uid ?? 'x'}`, uid, patterns: ['webhook.test'], ...extra } })).createEndpoint.endpoint;

describe('endpoint uids', () => {
  it('are stored, shown, and accepted by endpoint(id)', async () => {
    const created = await create('billing-alerts');
    expect(created.uid).toBe('billing-alerts');
    expect((await admin.data(GET, { id: 'billing-alerts' })).endpoint).toEqual({ id: created.id, uid: 'billing-alerts' });
    expect((await admin.data(GET, { id: created.id })).endpoint.uid).toBe('billing-alerts');
    // Viewers read uids (they are names, not secrets).
    expect((await service.client(keys.viewer).data(GET, { id: 'billing-alerts' })).endpoint.id).toBe(created.id);
    const none = await create(null);
    expect(none.uid).toBeNull();
  });

  it('refuses malformed uids with BAD_USER_INPUT on the uid field, writing nothing', async () => {
    const before = (await service.database.sql`SELECT count(*)::int AS n FROM endpoints`)[0]!.n;
    for (const uid of ['has space', 'a/b', 'x'.repeat(65), 'ép', 'ep_01M8CKN2KBRTPZ3VX9J7G7V2GG', 'et_01M8CKN2KBRTPZ3VX9J7G7V2GG']) {
      const error = await admin.error(CREATE, { input: { url: `${receiver.url}/bad`, uid } });
      expect(error.code, uid).toBe('BAD_USER_INPUT');
      expect(error.extensions.field).toBe('uid');
    }
    expect((await service.database.sql`SELECT count(*)::int AS n FROM endpoints`)[0]!.n).toBe(before);
    // The longest and the widest valid forms.
    expect((await create('A'.repeat(64))).uid).toBe('A'.repeat(64));
    expect((await create('a.B_c-9')).uid).toBe('a.B_c-9');
  });

  it('are unique per organization: a duplicate names the endpoint that has it; another organization may use it', async () => {
    const first = await create('dup-check');
    const error = await admin.error(CREATE, { input: { url: `${receiver.url}/again`, uid: 'dup-check' } });
    expect(error.code).toBe('BAD_USER_INPUT');
    expect(error.extensions.field).toBe('uid');
    expect(error.message).toContain(first.id);
    const second = await create(null);
    const clash = await admin.error(UPDATE, { id: second.id, input: { uid: 'dup-check' } });
    expect(clash.code).toBe('BAD_USER_INPUT');
    expect(clash.message).toContain(first.id);
    // Setting an endpoint's own uid again is no clash.
    expect((await admin.data(UPDATE, { id: 'dup-check', input: { uid: 'dup-check' } })).updateEndpoint.id).toBe(first.id);
    expect((await create('dup-check', other)).uid).toBe('dup-check');
  });

  it('concurrent creations with one uid make one endpoint; the loser is told which', async () => {
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) => admin.request(CREATE, { input: { url: `${receiver.url}/race${i}`, uid: 'raced' } })),
    );
    const won = results.filter((r) => !r.errors);
    const lost = results.filter((r) => r.errors);
    expect(won).toHaveLength(1);
    const winner = won[0]!.data.createEndpoint.endpoint.id;
    for (const r of lost) {
      expect(r.errors![0]!.extensions!.code).toBe('BAD_USER_INPUT');
      expect(r.errors![0]!.message).toContain(winner);
    }
    expect((await service.database.sql`SELECT count(*)::int AS n FROM endpoints WHERE uid = 'raced'`)[0]!.n).toBe(1);
  });

  it('can be changed and removed, and a deleted endpoint gives its uid up', async () => {
    const created = await create('rename-me');
    expect((await admin.data(UPDATE, { id: 'rename-me', input: { uid: 'renamed' } })).updateEndpoint.uid).toBe('renamed');
    expect((await admin.error(GET, { id: 'rename-me' })).code).toBe('NOT_FOUND');
    expect((await admin.data(UPDATE, { id: 'renamed', input: { uid: null } })).updateEndpoint.uid).toBeNull();
    expect((await admin.data(UPDATE, { id: created.id, input: { uid: 'reused' } })).updateEndpoint.uid).toBe('reused');
    await admin.data(`mutation { deleteEndpoint(id: "reused") { deletedEndpointId } }`);
    expect((await admin.error(GET, { id: 'reused' })).code).toBe('NOT_FOUND');
    const again = await create('reused');
    expect(again.id).not.toBe(created.id);
  });

  it('are accepted by every query and mutation taking an endpoint, and another organization\'s are NOT_FOUND', async () => {
    const ep = await create('everywhere');
    const theirs = await create('theirs-only', other);
    const since = new Date(Date.now() - 3600_000).toISOString();
    const calls: [string, string, Record<string, unknown>, GraphQLClient?][] = [
      ['endpoint', `query($id: ID!) { endpoint(id: $id) { id } }`, {}],
      ['updateEndpoint', `mutation($id: ID!) { updateEndpoint(id: $id, input: { description: "via uid" }) { id } }`, {}],
      ['pauseEndpoint', `mutation($id: ID!) { pauseEndpoint(id: $id) { id } }`, {}],
      ['resumeEndpoint', `mutation($id: ID!) { resumeEndpoint(id: $id) { id } }`, {}],
      ['setEventSubscriptions', `mutation($id: ID!) { setEventSubscriptions(endpointId: $id, patterns: ["webhook.test"]) { id } }`, {}],
      ['signingKeys', `query($id: ID!) { signingKeys(endpointId: $id) { id } }`, {}],
      ['rotateSigningKey', `mutation($id: ID!) { rotateSigningKey(endpointId: $id, gracePeriodSeconds: 0) { signingKey { endpointId } } }`, {}],
      ['sendTestEvent', `mutation($id: ID!) { sendTestEvent(endpointId: $id) { endpoint { id } } }`, {}],
      ['deliveryStats', `query($id: ID!, $since: DateTime!) { deliveryStats(endpointId: $id, since: $since, bucketSeconds: 3600) { start } }`, { since }],
      ['deliveries', `query($id: ID!) { deliveries(filter: { endpointId: $id }) { edges { node { endpoint { id } } } } }`, {}],
      ['replayDeliveries', `mutation($id: ID!) { replayDeliveries(filter: { endpointId: $id }) { count } }`, {}],
    ];
    for (const [name, query, vars] of calls) {
      const result = await admin.request(query, { id: 'everywhere', ...vars });
      expect(result.errors, name).toBeUndefined();
      const theirsResult = await admin.request(query, { id: 'theirs-only', ...vars });
      expect(theirsResult.errors?.[0]?.extensions?.code, name).toBe('NOT_FOUND');
      // The owner reaches its own endpoint by the same uid.
      expect((await other.request(query, { id: 'theirs-only', ...vars })).errors, `${name} (owner)`).toBeUndefined();
    }
    // What the uid calls did landed on the right endpoint.
    const stored = (await service.database.sql`SELECT description FROM endpoints WHERE id = ${ep.id}`)[0]!;
    expect(stored.description).toBe('via uid');
    const deliveries = await admin.data(`query($id: ID!) { deliveries(filter: { endpointId: $id }) { edges { node { endpoint { id } } } } }`, { id: 'everywhere' });
    expect(deliveries.deliveries.edges.map((e: any) => e.node.endpoint.id)).toEqual([ep.id]);
    expect(receiver.requests.some((r) => r.path === '/everywhere')).toBe(true);
    expect(theirs.uid).toBe('theirs-only');

    const deleted = await admin.error(`mutation { deleteEndpoint(id: "theirs-only") { deletedEndpointId } }`);
    expect(deleted.code).toBe('NOT_FOUND');
    expect((await admin.data(`mutation { deleteEndpoint(id: "everywhere") { deletedEndpointId } }`)).deleteEndpoint.deletedEndpointId).toBe(ep.id);
  });

  it('are accepted by the live subscriptions, another organization\'s NOT_FOUND', async () => {
    await create('live-uid');
    await create('live-theirs', other);
    const client = wsClient(service.url, service.adminKey);
    try {
      const attempts = liveSubscribe(client, `subscription($id: ID) { deliveryAttempts(endpointId: $id) { endpoint { uid } } }`, { id: 'live-uid' }, (d) => d.deliveryAttempts);
      const health = liveSubscribe(client, `subscription($id: ID) { endpointHealth(endpointId: $id) { endpointId } }`, { id: 'live-uid' }, (d) => d.endpointHealth);
      const foreign = liveSubscribe(client, `subscription($id: ID) { deliveryAttempts(endpointId: $id) { id } }`, { id: 'live-theirs' });
      await waitUntil('subscriptions to start', async () => (await service.database.sql`SELECT 1`).length > 0);
      await new Promise((r) => setTimeout(r, 300));
      await admin.data(`mutation { sendTestEvent(endpointId: "live-uid") { id } }`);
      await admin.data(`mutation { pauseEndpoint(id: "live-uid") { id } }`);
      expect((await attempts.waitFor(1))[0]).toEqual({ endpoint: { uid: 'live-uid' } });
      await health.waitFor(1);
      await foreign.ended();
      expect(foreign.errors[0]?.extensions?.code ?? (foreign.failure as any)?.[0]?.extensions?.code).toBe('NOT_FOUND');
      attempts.unsubscribe();
      health.unsubscribe();
    } finally {
      await client.dispose();
    }
  });

  it('can be set only by roles that manage endpoints', async () => {
    const ep = await create('roles-check');
    for (const role of ['operator', 'publisher', 'viewer'] as const) {
      expect((await service.client(keys[role]).error(UPDATE, { id: ep.id, input: { uid: 'stolen' } })).code, role).toBe('FORBIDDEN');
      expect((await service.client(keys[role]).error(CREATE, { input: { url: `${receiver.url}/r`, uid: `r-${role}` } })).code, role).toBe('FORBIDDEN');
    }
    expect((await admin.data(GET, { id: 'roles-check' })).endpoint.uid).toBe('roles-check');
  });
});

describe('event type uids', () => {
  it('are set on creation, unique per organization, and accepted by updateEventType and deprecateEventType', async () => {
    const created = (await admin.data(CREATE_TYPE, { input: { name: 'acme.invoice.paid', uid: 'invoice-paid' } })).createEventType;
    expect(created.uid).toBe('invoice-paid');
    const dup = await admin.error(CREATE_TYPE, { input: { name: 'acme.invoice.void', uid: 'invoice-paid' } });
    expect(dup.code).toBe('BAD_USER_INPUT');
    expect(dup.extensions.field).toBe('uid');
    expect(dup.message).toContain('acme.invoice.paid');
    expect((await admin.error(CREATE_TYPE, { input: { name: 'acme.invoice.bad', uid: 'no spaces' } })).extensions.field).toBe('uid');

    const updated = (
      await admin.data(UPDATE_TYPE, {
        id: 'invoice-paid',
        input: { description: 'Paid.', category: 'billing', schema: { type: 'object', required: ['invoiceId'] } },
      })
    ).updateEventType;
    expect(updated).toMatchObject({ id: created.id, description: 'Paid.', category: 'billing', schema: { type: 'object', required: ['invoiceId'] } });
    // The schema applies to publishing from now on.
    const refused = await admin.error(`mutation { publishEvent(input: { type: "acme.invoice.paid", data: {} }) { duplicate } }`);
    expect(refused.code).toBe('BAD_USER_INPUT');
    const reset = (await admin.data(UPDATE_TYPE, { id: created.id, input: { schema: null, category: null, uid: 'paid' } })).updateEventType;
    expect(reset).toMatchObject({ schema: null, category: 'acme', uid: 'paid' });

    expect((await admin.data(`mutation { deprecateEventType(id: "paid") { deprecated } }`)).deprecateEventType.deprecated).toBe(true);
    expect((await admin.data(UPDATE_TYPE, { id: 'paid', input: { deprecated: false } })).updateEventType.deprecated).toBe(false);

    // Another organization may use the uid; this one's are NOT_FOUND to it.
    expect((await other.data(CREATE_TYPE, { input: { name: 'acme.invoice.paid', uid: 'paid' } })).createEventType.uid).toBe('paid');
    const theirs = await admin.data(CREATE_TYPE, { input: { name: 'acme.only.ours', uid: 'ours-only' } });
    expect((await other.error(UPDATE_TYPE, { id: 'ours-only', input: { description: 'x' } })).code).toBe('NOT_FOUND');
    expect((await other.error(UPDATE_TYPE, { id: theirs.createEventType.id, input: { description: 'x' } })).code).toBe('NOT_FOUND');
    expect((await other.error(`mutation { deprecateEventType(id: "ours-only") { id } }`)).code).toBe('NOT_FOUND');
  });

  it('built-in types cannot be changed; only managers may change custom ones', async () => {
    const builtIn = (await service.database.sql`SELECT id FROM event_types WHERE name = 'pipeline.run.failed'`)[0]!.id;
    const error = await admin.error(UPDATE_TYPE, { id: builtIn, input: { description: 'mine now' } });
    expect(error.code).toBe('BAD_USER_INPUT');
    await admin.data(CREATE_TYPE, { input: { name: 'acme.roles.check', uid: 'roles-type' } });
    for (const role of ['operator', 'publisher', 'viewer'] as const) {
      expect((await service.client(keys[role]).error(UPDATE_TYPE, { id: 'roles-type', input: { description: 'x' } })).code, role).toBe('FORBIDDEN');
    }
    expect(otherKey).toBeTruthy();
  });
});
