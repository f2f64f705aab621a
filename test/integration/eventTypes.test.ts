/** The event-type catalog: built-in types, custom types with JSON Schemas, and deprecation. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUILT_IN_EVENT_TYPES } from '../../server/domain/eventCatalog.js';
import { startTestService, type TestService } from '../helpers/service.js';
import type { GraphQLClient } from '../helpers/graphql.js';

const FIELDS = 'id name category description schema example deprecated deprecatedAt builtIn createdAt';
const LIST = `query($first: Int, $after: String, $includeDeprecated: Boolean) {
  eventTypes(first: $first, after: $after, includeDeprecated: $includeDeprecated) {
    edges { cursor node { ${FIELDS} } }
    pageInfo { hasNextPage endCursor }
  } }`;
const CREATE = `mutation($input: CreateEventTypeInput!) { createEventType(input: $input) { ${FIELDS} } }`;
const DEPRECATE = `mutation($id: ID!) { deprecateEventType(id: $id) { ${FIELDS} } }`;
const CREATE_KEY = `mutation($role: ApiKeyRole!, $name: String!) { createApiKey(role: $role, name: $name) { key } }`;

const INVOICE_SCHEMA = {
  type: 'object',
  required: ['invoiceId', 'amount'],
  properties: { invoiceId: { type: 'string' }, amount: { type: 'number', minimum: 0 } },
};

let service: TestService;
let admin: GraphQLClient;
let keys: Record<'operator' | 'publisher' | 'viewer', string>;
let other: GraphQLClient;
let otherOrgId: string;
let professional: GraphQLClient;

beforeAll(async () => {
  service = await startTestService();
  admin = service.client();
  keys = {
    operator: (await admin.data(CREATE_KEY, { role: 'OPERATOR', name: 'ops' })).createApiKey.key,
    publisher: (await admin.data(CREATE_KEY, { role: 'PUBLISHER', name: 'pub' })).createApiKey.key,
    viewer: (await admin.data(CREATE_KEY, { role: 'VIEWER', name: 'view' })).createApiKey.key,
  };
  const otherOrg = await service.services.organizations.createOrganization({ name: 'other-org', plan: 'enterprise' });
  other = service.client(otherOrg.apiKey);
  otherOrgId = otherOrg.org.id;
  professional = service.client((await service.services.organizations.createOrganization({ name: 'pro', plan: 'professional' })).apiKey);
});

afterAll(async () => {
  await service?.close();
});

const all = async (client: GraphQLClient = admin, includeDeprecated?: boolean) =>
  (await client.data(LIST, { first: 500, includeDeprecated })).eventTypes.edges.map((e: any) => e.node) as any[];

const rows = () => service.database.sql`SELECT * FROM event_types ORDER BY id`;

describe('eventTypes', () => {
  it('lists the built-in catalog first, each entry marked builtIn', async () => {
    const types = await all();
    const builtIns = types.slice(0, BUILT_IN_EVENT_TYPES.length);
    expect(builtIns.map((t) => t.name)).toEqual(BUILT_IN_EVENT_TYPES.map((t) => t.name).sort());
    expect(builtIns.every((t) => t.builtIn && !t.deprecated && t.schema === null)).toBe(true);
    expect(builtIns.find((t) => t.name === 'pipeline.run.failed')).toMatchObject({ category: 'pipeline', description: 'A pipeline run failed.' });
    // The operational types, each with the example payload the service sends.
    for (const name of ['webhook.endpoint.circuit_opened', 'webhook.endpoint.recovered', 'webhook.delivery.exhausted']) {
      const type = builtIns.find((t) => t.name === name);
      expect(type, name).toMatchObject({ category: 'webhook', example: BUILT_IN_EVENT_TYPES.find((b) => b.name === name)!.example });
    }
    expect(types.filter((t) => !t.builtIn).every((t) => t.example === null)).toBe(true);
  });

  it('pages with first/after', async () => {
    const everything = await all();
    const page1 = (await admin.data(LIST, { first: 5 })).eventTypes;
    expect(page1.edges.map((e: any) => e.node.id)).toEqual(everything.slice(0, 5).map((t) => t.id));
    expect(page1.pageInfo.hasNextPage).toBe(true);
    const page2 = (await admin.data(LIST, { first: 5, after: page1.pageInfo.endCursor })).eventTypes;
    expect(page2.edges.map((e: any) => e.node.id)).toEqual(everything.slice(5, 10).map((t) => t.id));
    expect((await admin.error(LIST, { after: 'et_unknown' })).code).toBe('BAD_USER_INPUT');
  });

  it('is readable by viewers and operators but not publishers', async () => {
    for (const role of ['viewer', 'operator'] as const) expect((await all(service.client(keys[role]))).length).toBeGreaterThan(0);
    // Examples are payloads: shown to operators, never to viewers.
    expect((await all(service.client(keys.operator))).find((t) => t.name === 'webhook.delivery.exhausted')?.example).not.toBeNull();
    expect((await all(service.client(keys.viewer))).every((t) => t.example === null)).toBe(true);
    expect((await service.client(keys.publisher).error(LIST, {})).code).toBe('FORBIDDEN');
  });
});

describe('createEventType', () => {
  it('creates a custom type with a schema that published payloads must satisfy', async () => {
    const created = (
      await admin.data(CREATE, {
        input: { name: 'billing.invoice.paid', description: 'An invoice was paid.', schema: INVOICE_SCHEMA },
      })
    ).createEventType;
    expect(created).toMatchObject({
      id: expect.stringMatching(/^et_/),
      name: 'billing.invoice.paid',
      category: 'billing',
      description: 'An invoice was paid.',
      schema: INVOICE_SCHEMA,
      deprecated: false,
      deprecatedAt: null,
      builtIn: false,
    });
    const types = await all();
    expect(types.at(-1)!.name).toBe('billing.invoice.paid');

    await service.engine.publisher.publish(service.orgId, [{ type: 'billing.invoice.paid', data: { invoiceId: 'inv_1', amount: 10 } }]);
    await expect(
      service.engine.publisher.publish(service.orgId, [{ type: 'billing.invoice.paid', data: { invoiceId: 'inv_1', amount: -1 } }]),
    ).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
  });

  it('takes an explicit category', async () => {
    const created = (await admin.data(CREATE, { input: { name: 'acme.widget.built', category: 'manufacturing' } })).createEventType;
    expect(created.category).toBe('manufacturing');
    expect(created.schema).toBeNull();
  });

  it('is private to the organization: others neither see it nor clash with it', async () => {
    await admin.data(CREATE, { input: { name: 'acme.private.thing' } });
    expect((await all(other)).map((t) => t.name)).not.toContain('acme.private.thing');
    const theirs = (await other.data(CREATE, { input: { name: 'acme.private.thing' } })).createEventType;
    expect(theirs.builtIn).toBe(false);
  });

  it.each([
    ['a built-in name', { name: 'pipeline.run.failed' }, 'name', /"pipeline\.run\.failed" is a built-in event type/],
    ['an invalid name', { name: 'Billing Paid' }, 'name', /not a valid event type/],
    ['a single segment', { name: 'billing' }, 'name', /at least two dot-separated segments/],
    ['an invalid JSON Schema', { name: 'bad.schema.one', schema: { type: 'objekt' } }, 'schema', /Invalid JSON Schema/],
    ['a schema that is not an object', { name: 'bad.schema.two', schema: [1, 2] }, 'schema', /must be a JSON object/],
    ['a bad category', { name: 'ok.name.here', category: 'Has Spaces' }, 'category', /category/],
    ['a long description', { name: 'ok.name.long', description: 'x'.repeat(1001) }, 'description', /1000/],
  ])('refuses %s with BAD_USER_INPUT and writes nothing', async (_what, input, field, message) => {
    const before = await rows();
    const error = await admin.error(CREATE, { input });
    expect(error.code).toBe('BAD_USER_INPUT');
    expect(error.extensions.field).toBe(field);
    expect(error.message).toMatch(message);
    expect(await rows()).toEqual(before);
  });

  it('refuses a name the organization already uses, deprecated or not', async () => {
    await admin.data(CREATE, { input: { name: 'dup.event.type' } });
    const before = await rows();
    const error = await admin.error(CREATE, { input: { name: 'dup.event.type' } });
    expect(error.code).toBe('BAD_USER_INPUT');
    expect(error.message).toContain('already exists in this organization');
    expect(await rows()).toEqual(before);
  });

  it('refuses roles other than admin with FORBIDDEN naming the admin role', async () => {
    for (const role of ['operator', 'publisher', 'viewer'] as const) {
      const before = await rows();
      const error = await service.client(keys[role]).error(CREATE, { input: { name: `by.${role}.role` } });
      expect(error.code).toBe('FORBIDDEN');
      expect(error.message).toContain(`${role} role`);
      expect(error.message).toContain('admin role');
      expect(await rows()).toEqual(before);
    }
  });

  it('is available on every plan (the catalog serves publishing, not only webhooks)', async () => {
    expect((await professional.data(CREATE, { input: { name: 'pro.thing.done' } })).createEventType.name).toBe('pro.thing.done');
  });
});

describe('deprecateEventType', () => {
  it('deprecates the organization\'s own type, idempotently; it then refuses events and new patterns', async () => {
    const created = (await admin.data(CREATE, { input: { name: 'legacy.report.ready' } })).createEventType;
    const deprecated = (await admin.data(DEPRECATE, { id: created.id })).deprecateEventType;
    expect(deprecated).toMatchObject({ id: created.id, deprecated: true });
    expect(Date.parse(deprecated.deprecatedAt)).toBeGreaterThan(Date.now() - 60_000);
    expect((await admin.data(DEPRECATE, { id: created.id })).deprecateEventType.deprecatedAt).toBe(deprecated.deprecatedAt);

    expect((await all()).find((t) => t.id === created.id).deprecated).toBe(true);
    expect((await all(admin, false)).map((t) => t.id)).not.toContain(created.id);

    await expect(service.engine.publisher.publish(service.orgId, [{ type: 'legacy.report.ready', data: {} }])).rejects.toMatchObject({
      code: 'BAD_USER_INPUT',
    });
    const error = await admin.error(`mutation { createEndpoint(input: { url: "https://h.example.com", patterns: ["legacy.report.ready"] }) { secret } }`);
    expect(error.code).toBe('BAD_USER_INPUT');
  });

  it('refuses built-in types with BAD_USER_INPUT', async () => {
    const builtIn = (await all()).find((t) => t.name === 'webhook.test');
    const before = await rows();
    const error = await admin.error(DEPRECATE, { id: builtIn.id });
    expect(error.code).toBe('BAD_USER_INPUT');
    expect(error.message).toContain('built-in types cannot be deprecated');
    expect(await rows()).toEqual(before);
  });

  it('answers NOT_FOUND for unknown and other organizations\' types and leaves them as they were', async () => {
    const theirs = (await other.data(CREATE, { input: { name: 'theirs.only.type' } })).createEventType;
    const before = await rows();
    for (const id of [theirs.id, 'et_01ARZ3NDEKTSV4RRFFQ69G5FAV', 'junk']) {
      expect((await admin.error(DEPRECATE, { id })).code).toBe('NOT_FOUND');
    }
    expect(await rows()).toEqual(before);
    const [row] = await service.database.sql`SELECT deprecated, org_id FROM event_types WHERE id = ${theirs.id}`;
    expect(row).toEqual({ deprecated: false, org_id: otherOrgId });
  });

  it('refuses roles other than admin', async () => {
    const created = (await admin.data(CREATE, { input: { name: 'role.check.type' } })).createEventType;
    for (const role of ['operator', 'publisher', 'viewer'] as const) {
      expect((await service.client(keys[role]).error(DEPRECATE, { id: created.id })).code).toBe('FORBIDDEN');
    }
    expect((await all()).find((t) => t.id === created.id).deprecated).toBe(false);
  });
});
