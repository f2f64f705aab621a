/**
 * applyConfiguration / exportConfiguration against a real service: plans, dry runs that write
 * nothing, all-or-nothing applies with every problem reported by path, export → apply as a no-op
 * for every setting (secrets as references, never in clear), prune, rotations, roles and tenancy.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getTestCertificates, type TestCertificates } from '../helpers/certs.js';
import { startTestService, type TestService } from '../helpers/service.js';
import type { GraphQLClient } from '../helpers/graphql.js';

const APPLY = `mutation($document: JSON!, $dryRun: Boolean, $prune: Boolean) {
  applyConfiguration(document: $document, dryRun: $dryRun, prune: $prune) {
    applied dryRun changes { kind key action changedFields id secret } unmanaged { kind key } } }`;
const EXPORT = `query { exportConfiguration }`;
const CREATE_KEY = `mutation($role: ApiKeyRole!, $name: String!) { createApiKey(role: $role, name: $name) { key } }`;

let service: TestService;
let certs: TestCertificates;

beforeAll(async () => {
  service = await startTestService();
  certs = await getTestCertificates();
});

afterAll(async () => {
  await service?.close();
});

/** A fresh enterprise organization with its admin client. */
async function newOrg(name: string, plan: 'enterprise' | 'professional' = 'enterprise'): Promise<{ orgId: string; admin: GraphQLClient; key: string }> {
  const org = await service.services.organizations.createOrganization({ name, plan });
  return { orgId: org.org.id, admin: service.client(org.apiKey), key: org.apiKey };
}

const apply = async (client: GraphQLClient, document: unknown, options: { dryRun?: boolean; prune?: boolean } = {}) =>
  (await client.data(APPLY, { document, ...options })).applyConfiguration;

/** Everything an organization's configuration is made of, as stored (for "nothing changed" checks). */
async function snapshot(orgId: string) {
  const sql = service.database.sql;
  return {
    endpoints: await sql`SELECT * FROM endpoints WHERE org_id = ${orgId} ORDER BY id`,
    subscriptions: await sql`SELECT s.endpoint_id, s.pattern FROM event_subscriptions s JOIN endpoints e ON e.id = s.endpoint_id WHERE e.org_id = ${orgId} ORDER BY 1, 2`,
    eventTypes: await sql`SELECT * FROM event_types WHERE org_id = ${orgId} ORDER BY id`,
    signingKeys: await sql`SELECT * FROM signing_keys WHERE org_id = ${orgId} ORDER BY id`,
  };
}

const BASIC = {
  version: 1,
  eventTypes: {
    'acme.invoice.paid': { uid: 'invoice-paid', description: 'An invoice was paid.', schema: { type: 'object', required: ['invoiceId'] } },
  },
  endpoints: {
    billing: { url: 'http://127.0.0.1:9/billing', patterns: ['acme.invoice.*'], labels: ['team:billing'] },
    security: { url: 'http://127.0.0.1:9/security', patterns: ['security.*'], signingAlgorithm: 'ED25519' },
  },
};

describe('applyConfiguration', () => {
  it('creates what the document names (types before the endpoints subscribing to them); a second apply changes nothing', async () => {
    const { orgId, admin } = await newOrg('cfg-basic');
    const plan = await apply(admin, BASIC);
    expect(plan).toMatchObject({ applied: true, dryRun: false, unmanaged: [] });
    expect(plan.changes.map((c: any) => [c.kind, c.key, c.action])).toEqual([
      ['EVENT_TYPE', 'acme.invoice.paid', 'CREATE'],
      ['ENDPOINT', 'billing', 'CREATE'],
      ['ENDPOINT', 'security', 'CREATE'],
    ]);
    const billing = plan.changes[1];
    expect(billing.changedFields).toEqual(['url', 'labels', 'patterns']);
    expect(billing.id).toMatch(/^ep_/);
    expect(billing.secret).toMatch(/^whsec_/);
    expect(plan.changes[2].secret).toBeNull();
    const endpoint = await admin.data(`query { endpoint(id: "billing") { id uid labels eventSubscriptions { pattern } signingAlgorithm } }`);
    expect(endpoint.endpoint).toEqual({ id: billing.id, uid: 'billing', labels: ['team:billing'], eventSubscriptions: [{ pattern: 'acme.invoice.*' }], signingAlgorithm: 'HMAC_SHA256' });

    const before = await snapshot(orgId);
    const again = await apply(admin, BASIC);
    expect(again.changes.map((c: any) => c.action)).toEqual(['UNCHANGED', 'UNCHANGED', 'UNCHANGED']);
    expect(again.changes.every((c: any) => c.secret === null && c.changedFields.length === 0)).toBe(true);
    expect(await snapshot(orgId)).toEqual(before);
  });

  it('a dry run plans and validates but writes nothing', async () => {
    const { orgId, admin } = await newOrg('cfg-dry');
    const before = await snapshot(orgId);
    const plan = await apply(admin, BASIC, { dryRun: true });
    expect(plan.applied).toBe(false);
    expect(plan.dryRun).toBe(true);
    expect(plan.changes.map((c: any) => c.action)).toEqual(['CREATE', 'CREATE', 'CREATE']);
    expect(plan.changes.every((c: any) => c.id === null && c.secret === null)).toBe(true);
    expect(await snapshot(orgId)).toEqual(before);
    // A dry run of an invalid document fails like the apply would.
    const error = await admin.error(APPLY, { document: { endpoints: { bad: { url: 'ftp://x' } } }, dryRun: true });
    expect(error.code).toBe('BAD_USER_INPUT');
  });

  it('is all or nothing: one invalid object writes nothing, and every problem is reported with its path', async () => {
    const { orgId, admin } = await newOrg('cfg-atomic');
    await apply(admin, BASIC);
    const before = await snapshot(orgId);
    const document = {
      eventTypes: { ...BASIC.eventTypes, 'acme.new.type': {}, 'pipeline.run.failed': {} },
      endpoints: {
        billing: { ...BASIC.endpoints.billing, description: 'changed', retryPolicy: { maxAttempts: 0 } },
        security: BASIC.endpoints.security,
        fresh: { url: 'http://127.0.0.1:9/fresh', patterns: ['acme.new.type'] },
        broken: { url: 'not a url', timeoutMs: 10, patterns: ['no.such.type'], colour: 'blue' },
      },
    };
    const error = await admin.error(APPLY, { document });
    expect(error.code).toBe('BAD_USER_INPUT');
    const fields = (error.extensions.problems as { field: string; message: string }[]).map((p) => p.field).sort();
    expect(fields).toEqual([
      'endpoints.billing.retryPolicy.maxAttempts',
      'endpoints.broken.colour',
      'endpoints.broken.patterns',
      'endpoints.broken.timeoutMs',
      'endpoints.broken.url',
      'eventTypes["pipeline.run.failed"]',
    ]);
    // Without the new type, the endpoint subscribing to it is refused too.
    const { colour: _colour, ...broken } = document.endpoints.broken;
    const second = await admin.error(APPLY, { document: { ...document, eventTypes: BASIC.eventTypes, endpoints: { ...document.endpoints, broken } } });
    const secondFields = (second.extensions.problems as { field: string }[]).map((p) => p.field).sort();
    expect(secondFields).toEqual([
      'endpoints.billing.retryPolicy.maxAttempts',
      'endpoints.broken.patterns',
      'endpoints.broken.timeoutMs',
      'endpoints.broken.url',
      'endpoints.fresh.patterns',
    ]);
    expect(second.message).toContain('endpoints.broken: url');
    expect(await snapshot(orgId)).toEqual(before);
  });

  it('creates hundreds of endpoints in one apply (no queue, partition or lock per endpoint)', async () => {
    // The first version gave each endpoint a queue partition whose locks lasted until commit: a
    // few hundred creations in one transaction ran Postgres out of lock memory.
    const { orgId, admin } = await newOrg('cfg-many');
    const endpoints = Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`e${i}`, { url: `http://127.0.0.1:9/${i}` }]));
    const applied = (await admin.data(APPLY, { document: { endpoints } })).applyConfiguration;
    expect(applied.applied).toBe(true);
    expect((await snapshot(orgId)).endpoints).toHaveLength(300);
  }, 60_000);

  it('reports document shape problems at once: unknown sections and settings, wrong types, bad keys', async () => {
    const { admin } = await newOrg('cfg-shape');
    const error = await admin.error(APPLY, {
      document: {
        version: 2,
        extra: true,
        eventTypes: { 'acme.a.b': { schema: 'not an object', deprecated: 'yes' } },
        endpoints: {
          'has space': { url: 'http://127.0.0.1:9/x' },
          ep_01M8CKN2KBRTPZ3VX9J7G7V2GG: { url: 'http://127.0.0.1:9/x' },
          ok: { url: 'http://127.0.0.1:9/x', headers: ['a'], tls: { clientKeyPem: 5 }, retryPolicy: { maxAttempts: 'x', typo: 1 }, labels: [1] },
          nourl: {},
        },
      },
    });
    expect(error.code).toBe('BAD_USER_INPUT');
    const fields = (error.extensions.problems as { field: string }[]).map((p) => p.field).sort();
    expect(fields).toEqual([
      'document.extra',
      'endpoints.ep_01M8CKN2KBRTPZ3VX9J7G7V2GG',
      'endpoints.nourl.url',
      'endpoints.ok.headers',
      'endpoints.ok.labels[0]',
      'endpoints.ok.retryPolicy.maxAttempts',
      'endpoints.ok.retryPolicy.typo',
      'endpoints.ok.tls.clientKeyPem',
      'endpoints["has space"]',
      'eventTypes["acme.a.b"].deprecated',
      'eventTypes["acme.a.b"].schema',
      'version',
    ]);
    expect((await admin.error(APPLY, { document: [] })).code).toBe('BAD_USER_INPUT');
  });

  it('a schema nested deeper than the call stack is BAD_USER_INPUT, with or without an Idempotency-Key', async () => {
    const { key, admin } = await newOrg('cfg-deep');
    await apply(admin, { eventTypes: { 'acme.deep.one': {} } });
    let deep = '{}';
    for (let i = 0; i < 50_000; i++) deep = `{"a":${deep}}`;
    // Raw text: the test's own JSON.stringify would overflow on it.
    const body = `{"query":${JSON.stringify(APPLY)},"variables":{"document":{"eventTypes":{"acme.deep.one":{"schema":${deep}},"acme.deep.two":{"schema":${deep}}}}}}`;
    for (const idempotencyKey of [null, 'deep-1']) {
      const response = await fetch(`${service.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${key}`, ...(idempotencyKey ? { 'idempotency-key': idempotencyKey } : {}) },
        body,
      });
      const result = (await response.json()) as { errors: { extensions: { code: string; problems: { field: string }[] } }[] };
      expect(result.errors[0]!.extensions.code).toBe('BAD_USER_INPUT');
      expect(result.errors[0]!.extensions.problems.map((p) => p.field).sort()).toEqual(['eventTypes["acme.deep.one"].schema', 'eventTypes["acme.deep.two"].schema']);
    }
  });

  it('updates only what differs, naming the parts; a value written differently but stored the same is no change', async () => {
    const { admin } = await newOrg('cfg-update');
    await apply(admin, {
      endpoints: { hooks: { url: 'https://hooks.example.com/in', headers: { 'X-Team': 'a', Authorization: 'Bearer 1' }, retryPolicy: { maxAttempts: 5 } } },
    });
    const plan = await apply(admin, {
      endpoints: {
        hooks: { url: 'https://HOOKS.example.com/in', headers: { 'X-Team': 'b', Authorization: { unchanged: true } }, retryPolicy: { maxAttempts: 3 }, timeoutMs: 15000 },
      },
    });
    expect(plan.changes).toEqual([expect.objectContaining({ key: 'hooks', action: 'UPDATE', changedFields: ['retryPolicy.maxAttempts', 'headers["X-Team"]'], secret: null })]);
    const endpoint = (await admin.data(`query { endpoint(id: "hooks") { url headers { name value } retryPolicy { maxAttempts } } }`)).endpoint;
    expect(endpoint.url).toBe('https://hooks.example.com/in');
    expect(endpoint.retryPolicy.maxAttempts).toBe(3);
    expect(Object.fromEntries(endpoint.headers.map((h: any) => [h.name, h.value]))).toEqual({ 'X-Team': 'b', Authorization: 'Bearer 1' });
    // Leaving a header out removes it; a reference to a header that does not exist is a problem.
    const removed = await apply(admin, { endpoints: { hooks: { url: 'https://hooks.example.com/in', retryPolicy: { maxAttempts: 3 }, headers: { 'X-Team': 'b' } } } });
    expect(removed.changes[0].changedFields).toEqual(['headers.Authorization']);
    const missing = await admin.error(APPLY, { document: { endpoints: { hooks: { url: 'https://hooks.example.com/in', headers: { Nope: { unchanged: true } } } } } });
    expect((missing.extensions.problems as any[]).map((p) => p.field)).toEqual(['endpoints.hooks.headers.Nope']);
    const newWithRef = await admin.error(APPLY, { document: { endpoints: { brandnew: { url: 'https://x.example.com/', tls: { clientKeyPem: { unchanged: true } } } } } });
    expect((newWithRef.extensions.problems as any[]).map((p) => p.field)).toEqual(['endpoints.brandnew.tls.clientKeyPem']);
  });

  it('prunes what the document leaves out only when asked; otherwise lists it as unmanaged', async () => {
    const { orgId, admin } = await newOrg('cfg-prune');
    await apply(admin, BASIC);
    const handMade = (await admin.data(`mutation { createEndpoint(input: { url: "http://127.0.0.1:9/hand" }) { endpoint { id } } }`)).createEndpoint.endpoint.id;
    const partial = { endpoints: { billing: { ...BASIC.endpoints.billing, patterns: ['security.*'] } } };
    const kept = await apply(admin, partial);
    expect(kept.unmanaged).toEqual([
      { kind: 'EVENT_TYPE', key: 'acme.invoice.paid' },
      { kind: 'ENDPOINT', key: 'security' },
      { kind: 'ENDPOINT', key: handMade },
    ]);
    const pruned = await apply(admin, partial, { prune: true });
    expect(pruned.changes.map((c: any) => [c.kind, c.key, c.action, c.changedFields])).toEqual([
      ['EVENT_TYPE', 'acme.invoice.paid', 'DELETE', ['deprecated']],
      ['ENDPOINT', 'billing', 'UNCHANGED', []],
      ['ENDPOINT', 'security', 'DELETE', []],
      ['ENDPOINT', handMade, 'DELETE', []],
    ]);
    expect(pruned.unmanaged).toEqual([]);
    expect((await admin.data(`query { endpoints { edges { node { uid } } } }`)).endpoints.edges.map((e: any) => e.node.uid)).toEqual(['billing']);
    const type = (await service.database.sql`SELECT deprecated FROM event_types WHERE name = 'acme.invoice.paid' AND org_id = ${orgId}`)[0]!;
    expect(type.deprecated).toBe(true);
    // Pruned endpoints are deleted like deleteEndpoint does it: their queue goes too.
    expect((await admin.error(`query { endpoint(id: "security") { id } }`)).code).toBe('NOT_FOUND');
  });

  it('switching signingAlgorithm rotates the key; to HMAC the new secret is in the plan', async () => {
    const { admin } = await newOrg('cfg-rotate');
    await apply(admin, { endpoints: { r: { url: 'http://127.0.0.1:9/r', signingAlgorithm: 'ED25519' } } });
    const toHmac = await apply(admin, { endpoints: { r: { url: 'http://127.0.0.1:9/r' } } });
    expect(toHmac.changes[0]).toMatchObject({ action: 'UPDATE', changedFields: ['signingAlgorithm'] });
    expect(toHmac.changes[0].secret).toMatch(/^whsec_/);
    const keys = (await admin.data(`query { signingKeys(endpointId: "r") { algorithm expiresAt } }`)).signingKeys;
    expect(keys.map((k: any) => k.algorithm).sort()).toEqual(['ED25519', 'HMAC_SHA256']);
    const back = await apply(admin, { endpoints: { r: { url: 'http://127.0.0.1:9/r', signingAlgorithm: 'ED25519', description: 'x' } } });
    expect(back.changes[0]).toMatchObject({ changedFields: ['description', 'signingAlgorithm'], secret: null });
    expect((await admin.data(`query { endpoint(id: "r") { signingAlgorithm description } }`)).endpoint).toEqual({ signingAlgorithm: 'ED25519', description: 'x' });
  });

  it('two applies at once run one after the other and agree', async () => {
    const { orgId, admin } = await newOrg('cfg-race');
    const results = await Promise.all([apply(admin, BASIC), apply(admin, BASIC), apply(admin, BASIC)]);
    const creates = results.flatMap((r) => r.changes.filter((c: any) => c.action === 'CREATE'));
    expect(creates).toHaveLength(3);
    expect((await snapshot(orgId)).endpoints).toHaveLength(2);
  });

  it('is refused to publishers, viewers and operators (dry runs too), and outside the enterprise plan', async () => {
    const { admin } = await newOrg('cfg-roles');
    for (const role of ['OPERATOR', 'PUBLISHER', 'VIEWER']) {
      const key = (await admin.data(CREATE_KEY, { role, name: role })).createApiKey.key;
      for (const dryRun of [false, true]) expect((await service.client(key).error(APPLY, { document: BASIC, dryRun })).code, role).toBe('FORBIDDEN');
      const exported = await service.client(key).request(EXPORT);
      expect(exported.errors?.[0]?.extensions?.code ?? 'OK', role).toBe(role === 'PUBLISHER' ? 'FORBIDDEN' : 'OK');
    }
    const pro = await newOrg('cfg-pro', 'professional');
    expect((await pro.admin.error(APPLY, { document: BASIC })).code).toBe('FEATURE_NOT_AVAILABLE');
    expect((await service.client(null).error(APPLY, { document: BASIC })).code).toBe('UNAUTHENTICATED');
  });

  it('never reaches another organization: its ids are unknown keys, its uids are names free here, its objects are not exported', async () => {
    const mine = await newOrg('cfg-tenant-a');
    const theirs = await newOrg('cfg-tenant-b');
    const plan = await apply(theirs.admin, BASIC);
    const theirId = plan.changes[1].id;
    const before = await snapshot(theirs.orgId);
    const error = await mine.admin.error(APPLY, { document: { endpoints: { [theirId]: { url: 'http://127.0.0.1:9/steal' } } } });
    expect((error.extensions.problems as any[])[0].field).toBe(`endpoints.${theirId}`);
    const same = await apply(mine.admin, BASIC, { prune: true });
    expect(same.changes.map((c: any) => c.action)).toEqual(['CREATE', 'CREATE', 'CREATE']);
    expect(await snapshot(theirs.orgId)).toEqual(before);
    const exported = (await mine.admin.data(EXPORT)).exportConfiguration;
    expect(JSON.stringify(exported)).not.toContain(theirId);
    expect((await mine.admin.error(`query { endpoint(id: "${theirId}") { id } }`)).code).toBe('NOT_FOUND');
  });
});

describe('exportConfiguration', () => {
  it('applies as a no-op for every setting and holds no secret in clear', async () => {
    const { orgId, admin } = await newOrg('cfg-roundtrip');
    // Every setting by hand, through the ordinary mutations.
    await admin.data(`mutation($input: CreateEventTypeInput!) { createEventType(input: $input) { id } }`, {
      input: { name: 'acme.order.shipped', uid: 'shipped', category: 'orders', description: 'Shipped.', schema: { type: 'object', properties: { id: { type: 'string' } } } },
    });
    const old = (await admin.data(`mutation { createEventType(input: { name: "acme.order.legacy" }) { id } }`)).createEventType.id;
    await admin.data(`mutation($id: ID!) { deprecateEventType(id: $id) { id } }`, { id: old });
    const full = {
      uid: 'everything',
      url: 'https://hooks.example.com/in?token=query-secret-123&x=1',
      description: 'Every setting',
      labels: ['team:a', 'env:prod'],
      timeoutMs: 5000,
      retryPolicy: { initialBackoffSeconds: 2, multiplier: 1.5, maxBackoffSeconds: 600, maxAttempts: 12 },
      circuitBreaker: { enabled: false, failureThreshold: 3, cooldownSeconds: 30 },
      maxInFlight: 4,
      rateLimitPerSecond: 50,
      orderingMode: 'STRICT',
      headers: [{ name: 'Authorization', value: 'Bearer header-secret-456' }, { name: 'X-Env', value: 'prod-header-789' }],
      tls: { clientCertificatePem: certs.clientCertPem, clientKeyPem: certs.clientKeyPem, caCertificatePem: certs.caCertPem },
      patterns: ['acme.order.*', 'pipeline.run.failed'],
    };
    await admin.data(`mutation($input: CreateEndpointInput!) { createEndpoint(input: $input) { endpoint { id } } }`, { input: full });
    await admin.data(`mutation { createEndpoint(input: { url: "https://plain.example.com/", signingAlgorithm: ED25519 }) { endpoint { id } } }`);
    const caOnly = (await admin.data(`mutation($input: CreateEndpointInput!) { createEndpoint(input: $input) { endpoint { id } } }`, {
      input: { url: 'https://ca.example.com/', tls: { caCertificatePem: certs.caCertPem } },
    })).createEndpoint.endpoint.id;

    const exported = (await admin.data(EXPORT)).exportConfiguration;
    const text = JSON.stringify(exported);
    for (const secret of ['query-secret-123', 'header-secret-456', 'prod-header-789', 'PRIVATE KEY']) expect(text, secret).not.toContain(secret);
    expect(exported.endpoints.everything).toMatchObject({
      url: { base: 'https://hooks.example.com/in', query: { unchanged: true } },
      headers: { Authorization: { unchanged: true }, 'X-Env': { unchanged: true } },
      tls: { clientCertificatePem: expect.stringContaining('BEGIN CERTIFICATE'), clientKeyPem: { unchanged: true }, caCertificatePem: expect.stringContaining('BEGIN CERTIFICATE') },
      retryPolicy: { multiplier: 1.5, maxAttempts: 12 },
      orderingMode: 'STRICT',
      patterns: ['acme.order.*', 'pipeline.run.failed'],
    });
    expect(exported.endpoints[caOnly].tls).toEqual({ caCertificatePem: expect.stringContaining('BEGIN CERTIFICATE') });
    expect(exported.eventTypes).toEqual({
      'acme.order.legacy': { deprecated: true },
      'acme.order.shipped': { uid: 'shipped', category: 'orders', description: 'Shipped.', schema: { type: 'object', properties: { id: { type: 'string' } } } },
    });

    const before = await snapshot(orgId);
    const plan = await apply(admin, exported, { prune: true });
    expect(plan.changes.map((c: any) => c.action)).toEqual(Array(plan.changes.length).fill('UNCHANGED'));
    expect(plan.changes).toHaveLength(5);
    expect(await snapshot(orgId)).toEqual(before);
    // Through YAML-like round trips the document is plain JSON: applying it twice is still a no-op.
    expect((await apply(admin, JSON.parse(text), { dryRun: true, prune: true })).changes.every((c: any) => c.action === 'UNCHANGED')).toBe(true);

    // The query string reference keeps the query while the base changes.
    const moved = await apply(admin, { ...exported, endpoints: { ...exported.endpoints, everything: { ...exported.endpoints.everything, url: { base: 'https://hooks.example.com/v2', query: { unchanged: true } } } } });
    expect(moved.changes.find((c: any) => c.key === 'everything').changedFields).toEqual(['url']);
    // Read as the admin sees it: the query is stored sealed (url_query_sealed), opened on read.
    const { endpoint } = await admin.data<{ endpoint: { url: string } }>('query($id: ID!) { endpoint(id: $id) { url } }', { id: 'everything' });
    expect(endpoint.url).toBe('https://hooks.example.com/v2?token=query-secret-123&x=1');
  });
});
