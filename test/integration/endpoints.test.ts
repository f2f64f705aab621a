/**
 * Endpoints and EventSubscriptions through the GraphQL API of a real service (own database).
 * Every refused input is checked to leave the tables as they were.
 */
import { generateKeyPairSync } from 'node:crypto';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getTestCertificates, type TestCertificates } from '../helpers/certs.js';
import { startTestService, type TestService } from '../helpers/service.js';
import type { GraphQLClient } from '../helpers/graphql.js';

const ENDPOINT_FIELDS = `
  id url description labels active disabledReason disabledAt circuitState consecutiveFailures circuitOpenUntil timeoutMs
  retryPolicy { initialBackoffSeconds multiplier maxBackoffSeconds maxAttempts }
  circuitBreaker { enabled failureThreshold cooldownSeconds }
  maxInFlight rateLimitPerSecond orderingMode
  headers { name value }
  eventSubscriptions { pattern }
  tls { hasClientKey clientCertificate { subject issuer validFrom validTo fingerprintSha256 pem } caCertificates { subject } }
  signingAlgorithm createdAt updatedAt`;

const CREATE = `mutation($input: CreateEndpointInput!) { createEndpoint(input: $input) { secret endpoint { ${ENDPOINT_FIELDS} } } }`;
const UPDATE = `mutation($id: ID!, $input: UpdateEndpointInput!) { updateEndpoint(id: $id, input: $input) { ${ENDPOINT_FIELDS} } }`;
const GET = `query($id: ID!) { endpoint(id: $id) { ${ENDPOINT_FIELDS} } }`;
const LIST = `query($filter: EndpointFilter, $first: Int, $after: String) {
  endpoints(filter: $filter, first: $first, after: $after) {
    edges { cursor node { id url labels active } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  } }`;
const DELETE = `mutation($id: ID!) { deleteEndpoint(id: $id) { deletedEndpointId } }`;
const PAUSE = `mutation($id: ID!) { pauseEndpoint(id: $id) { ${ENDPOINT_FIELDS} } }`;
const RESUME = `mutation($id: ID!) { resumeEndpoint(id: $id) { ${ENDPOINT_FIELDS} } }`;
const SET_SUBS = `mutation($endpointId: ID!, $patterns: [String!]!) {
  setEventSubscriptions(endpointId: $endpointId, patterns: $patterns) { id eventSubscriptions { pattern } updatedAt } }`;
const CREATE_KEY = `mutation($role: ApiKeyRole!, $name: String!) { createApiKey(role: $role, name: $name) { key } }`;

let service: TestService;
let admin: GraphQLClient;
let keys: Record<'operator' | 'publisher' | 'viewer', string>;
let other: { orgId: string; client: GraphQLClient };
let professional: GraphQLClient;
let certs: TestCertificates;

beforeAll(async () => {
  service = await startTestService();
  admin = service.client();
  keys = {
    operator: (await admin.data(CREATE_KEY, { role: 'OPERATOR', name: 'Ops bot' })).createApiKey.key,
    publisher: (await admin.data(CREATE_KEY, { role: 'PUBLISHER', name: 'Platform' })).createApiKey.key,
    viewer: (await admin.data(CREATE_KEY, { role: 'VIEWER', name: 'Dashboard' })).createApiKey.key,
  };
  const otherOrg = await service.services.organizations.createOrganization({ name: 'other-org', plan: 'enterprise' });
  other = { orgId: otherOrg.org.id, client: service.client(otherOrg.apiKey) };
  const pro = await service.services.organizations.createOrganization({ name: 'pro-org', plan: 'professional' });
  professional = service.client(pro.apiKey);
  certs = await getTestCertificates();
});

afterAll(async () => {
  await service?.close();
});

async function createEndpoint(input: Record<string, unknown> = {}, client: GraphQLClient = admin) {
  const data = await client.data(CREATE, { input: { url: 'https://hooks.example.com/in', ...input } });
  return data.createEndpoint as { secret: string | null; endpoint: any };
}

// Written by the worker, not by mutations: deliveries of earlier tests' events (to unreachable
// example.com URLs) go on failing in the background and move the breaker while a test runs.
const WORKER_STATE = ['consecutive_failures', 'circuit_state', 'circuit_opened_at', 'circuit_open_until', 'circuit_cooldown_seconds'];

/** A snapshot of every table an endpoint mutation writes, to prove a refusal wrote nothing. */
async function snapshot(): Promise<unknown> {
  const sql = service.database.sql;
  const endpoints = await sql`SELECT * FROM endpoints ORDER BY id`;
  return {
    endpoints: endpoints.map((row) => Object.fromEntries(Object.entries(row).filter(([column]) => !WORKER_STATE.includes(column)))),
    subscriptions: await sql`SELECT endpoint_id, pattern FROM event_subscriptions ORDER BY endpoint_id, pattern`,
    keys: await sql`SELECT * FROM signing_keys ORDER BY id`,
    deliveries: await sql`SELECT id, endpoint_id, event_id FROM deliveries ORDER BY id`,
  };
}

async function listenTo(channel: string) {
  const received: string[] = [];
  const sql = postgres(service.testDatabase.url, { max: 1, onnotice: () => {} });
  await sql.listen(channel, (payload) => received.push(payload));
  return {
    received,
    async waitFor(predicate: (payloads: string[]) => boolean, timeoutMs = 3000): Promise<void> {
      const deadline = Date.now() + timeoutMs;
      while (!predicate(received)) {
        if (Date.now() > deadline) throw new Error(`no matching notification on ${channel}: ${JSON.stringify(received)}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    close: () => sql.end({ timeout: 1 }),
  };
}

describe('createEndpoint', () => {
  it('creates an endpoint with the SPEC defaults, an HMAC secret and no subscriptions', async () => {
    const changed = await listenTo('webhooks_endpoint_changed');
    try {
      const { secret, endpoint } = await createEndpoint();
      expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
      expect(endpoint).toMatchObject({
        url: 'https://hooks.example.com/in',
        description: '',
        labels: [],
        active: true,
        disabledReason: null,
        disabledAt: null,
        circuitState: 'CLOSED',
        consecutiveFailures: 0,
        timeoutMs: 15000,
        retryPolicy: { initialBackoffSeconds: 5, multiplier: 6, maxBackoffSeconds: 36000, maxAttempts: 8 },
        circuitBreaker: { enabled: true, failureThreshold: 10, cooldownSeconds: 60 },
        maxInFlight: 16,
        rateLimitPerSecond: null,
        orderingMode: 'BEST_EFFORT',
        headers: [],
        eventSubscriptions: [],
        tls: null,
        signingAlgorithm: 'HMAC_SHA256',
      });
      expect(endpoint.id).toMatch(/^ep_/);
      expect(Date.parse(endpoint.createdAt)).toBeGreaterThan(Date.now() - 60_000);

      const sql = service.database.sql;
      const keyRows = await sql`SELECT * FROM signing_keys WHERE endpoint_id = ${endpoint.id}`;
      expect(keyRows).toHaveLength(1);
      expect(keyRows[0]!.algorithm).toBe('HMAC_SHA256');
      expect(keyRows[0]!.secret_sealed).not.toContain(secret!.slice(6));
      // No queue of its own: its jobs go to a shard queue shared with other endpoints.
      expect(await sql`SELECT name FROM pgboss.queue WHERE name LIKE ${`%${endpoint.id}%`}`).toHaveLength(0);
      await changed.waitFor((p) => p.some((x) => x.includes(endpoint.id)));
      expect(JSON.parse(changed.received.find((x) => x.includes(endpoint.id))!)).toEqual([{ orgId: service.orgId, endpointId: endpoint.id }]);
    } finally {
      await changed.close();
    }
  });

  it('stores every setting and returns it', async () => {
    const { endpoint } = await createEndpoint({
      url: 'https://hooks.example.com/all',
      description: ' Security team alerts ',
      labels: ['team:security', 'tier:1'],
      timeoutMs: 5000,
      retryPolicy: { maxAttempts: 3, multiplier: 1.1 },
      circuitBreaker: { enabled: false, failureThreshold: 4 },
      maxInFlight: 4,
      rateLimitPerSecond: 50,
      orderingMode: 'STRICT',
      headers: [
        { name: 'X-Team', value: 'security' },
        { name: 'Authorization', value: 'Bearer receiver-token' },
      ],
      tls: { clientCertificatePem: certs.clientCertPem, clientKeyPem: certs.clientKeyPem, caCertificatePem: certs.caCertPem },
      patterns: ['security.*', 'pipeline.run.failed'],
    });
    expect(endpoint).toMatchObject({
      description: 'Security team alerts',
      labels: ['team:security', 'tier:1'],
      timeoutMs: 5000,
      retryPolicy: { initialBackoffSeconds: 5, multiplier: 1.1, maxBackoffSeconds: 36000, maxAttempts: 3 },
      circuitBreaker: { enabled: false, failureThreshold: 4, cooldownSeconds: 60 },
      maxInFlight: 4,
      rateLimitPerSecond: 50,
      orderingMode: 'STRICT',
      headers: [
        { name: 'X-Team', value: 'security' },
        { name: 'Authorization', value: 'Bearer receiver-token' },
      ],
      eventSubscriptions: [{ pattern: 'pipeline.run.failed' }, { pattern: 'security.*' }],
      tls: {
        hasClientKey: true,
        clientCertificate: { subject: `CN=${certs.clientSubjectCn}`, issuer: 'CN=webhook-test-ca' },
        caCertificates: [{ subject: 'CN=webhook-test-ca' }],
      },
    });
    expect(endpoint.tls.clientCertificate.pem).toContain('BEGIN CERTIFICATE');
    expect(JSON.stringify(endpoint)).not.toContain('PRIVATE KEY');
    // Read back through a fresh request: the same values, from the database.
    expect((await admin.data(GET, { id: endpoint.id })).endpoint).toEqual(endpoint);

    const [row] = await service.database.sql`SELECT * FROM endpoints WHERE id = ${endpoint.id}`;
    const keyBody = certs.clientKeyPem.split('\n')[1]!;
    expect(row!.tls_client_key_sealed).toMatch(/^v1\./);
    expect(JSON.stringify(row)).not.toContain(keyBody);
  });

  it('with ED25519 returns no secret and uses one organization key for every Ed25519 endpoint', async () => {
    const first = await createEndpoint({ signingAlgorithm: 'ED25519' });
    const second = await createEndpoint({ signingAlgorithm: 'ED25519' });
    expect(first.secret).toBeNull();
    expect(second.secret).toBeNull();
    expect(first.endpoint.signingAlgorithm).toBe('ED25519');
    const orgKeys = await service.database.sql`
      SELECT * FROM signing_keys WHERE org_id = ${service.orgId} AND endpoint_id IS NULL AND algorithm = 'ED25519'`;
    expect(orgKeys).toHaveLength(1);
    expect(orgKeys[0]!.public_key).toMatch(/^whpk_/);
    expect(await service.database.sql`SELECT * FROM signing_keys WHERE endpoint_id = ${first.endpoint.id}`).toHaveLength(0);
  });

  const bad: [string, Record<string, unknown>, string, RegExp][] = [
    ['a malformed URL', { url: 'not a url' }, 'url', /not a valid absolute URL/],
    ['a non-http(s) URL', { url: 'ftp://hooks.example.com/x' }, 'url', /must use https/],
    ['a URL with credentials', { url: 'https://user:secret@hooks.example.com/' }, 'url', /username or password/],
    ['a URL with a fragment', { url: 'https://hooks.example.com/#x' }, 'url', /fragment/],
    ['a private IP literal', { url: 'https://10.0.0.7/hook' }, 'url', /WEBHOOKS_ALLOWED_CIDRS/],
    ['the metadata address', { url: 'http://169.254.169.254/latest/meta-data' }, 'url', /metadata/],
    ['a timeout below 1,000', { timeoutMs: 999 }, 'timeoutMs', /between 1000 and 30000/],
    ['a timeout above 30,000', { timeoutMs: 30_001 }, 'timeoutMs', /between 1000 and 30000/],
    ['maxAttempts 0', { retryPolicy: { maxAttempts: 0 } }, 'retryPolicy.maxAttempts', /between 1 and 50/],
    ['a multiplier of 11', { retryPolicy: { multiplier: 11 } }, 'retryPolicy.multiplier', /between 1 and 10/],
    ['maxBackoff below initial', { retryPolicy: { initialBackoffSeconds: 60, maxBackoffSeconds: 10 } }, 'retryPolicy.maxBackoffSeconds', /initialBackoffSeconds/],
    ['a breaker threshold of 0', { circuitBreaker: { failureThreshold: 0 } }, 'circuitBreaker.failureThreshold', /between 1 and 1000/],
    ['a cooldown over an hour', { circuitBreaker: { cooldownSeconds: 3601 } }, 'circuitBreaker.cooldownSeconds', /between 1 and 3600/],
    ['maxInFlight 0', { maxInFlight: 0 }, 'maxInFlight', /between 1 and 1000/],
    ['a rate limit of 0', { rateLimitPerSecond: 0 }, 'rateLimitPerSecond', /between 1 and 100000/],
    ['a duplicate label', { labels: ['a', 'a'] }, 'labels[1]', /repeats labels\[0\]/],
    ['a reserved header', { headers: [{ name: 'X-Ok', value: '1' }, { name: 'Webhook-Signature', value: 'x' }] }, 'headers[1].name', /cannot be overridden/],
    ['a header value with CRLF', { headers: [{ name: 'X-A', value: 'a\r\nX-Evil: 1' }] }, 'headers[0].value', /control character/],
    ['a misspelled pattern', { patterns: ['pipeline.run.faild'] }, 'patterns', /Unknown event type "pipeline\.run\.faild"\. Did you mean "pipeline\.run\.failed"\?/],
    ['a pattern matching nothing', { patterns: ['pipelin.*'] }, 'patterns', /No event type matches "pipelin\.\*"\. Did you mean "pipeline\.\*"/],
    ['a duplicate pattern', { patterns: ['security.*', 'security.*'] }, 'patterns', /Duplicate pattern "security\.\*"/],
    ['a malformed pattern', { patterns: ['Security.**'] }, 'patterns', /Invalid pattern/],
    ['a PEM that does not parse', { tls: { clientCertificatePem: 'garbage', clientKeyPem: 'garbage' } }, 'tls.clientCertificatePem', /not a PEM certificate/],
    ['a CA PEM that does not parse', { tls: { caCertificatePem: '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----' } }, 'tls.caCertificatePem', /could not be parsed/],
    ['a certificate without its key', { tls: { clientCertificatePem: 'CERT' } }, 'tls.clientKeyPem', /required/],
  ];

  it.each(bad)('refuses %s with BAD_USER_INPUT on the field and writes nothing', async (_what, input, field, message) => {
    const before = await snapshot();
    const error = await admin.error(CREATE, { input: { url: 'https://hooks.example.com/x', ...input } });
    expect(error.code).toBe('BAD_USER_INPUT');
    expect(error.message).toMatch(message);
    expect(error.extensions.field).toBe(field);
    expect(error.extensions.problems).toEqual(expect.arrayContaining([{ field, message: expect.stringMatching(message) }]));
    expect(await snapshot()).toEqual(before);
  });

  it('refuses a client key that does not match its certificate, naming the key field', async () => {
    const otherKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    const before = await snapshot();
    const error = await admin.error(CREATE, {
      input: { url: 'https://hooks.example.com/x', tls: { clientCertificatePem: certs.clientCertPem, clientKeyPem: otherKey } },
    });
    expect(error.code).toBe('BAD_USER_INPUT');
    expect(error.extensions.field).toBe('tls.clientKeyPem');
    expect(error.message).toContain('does not belong');
    expect(error.message).not.toContain(otherKey.split('\n')[1]);
    expect(await snapshot()).toEqual(before);
  });

  it('lists every problem at once', async () => {
    const error = await admin.error(CREATE, {
      input: { url: 'ftp://x', timeoutMs: 1, retryPolicy: { maxAttempts: 99 }, patterns: ['nope.nope'] },
    });
    expect(error.code).toBe('BAD_USER_INPUT');
    expect((error.extensions.problems as { field: string }[]).map((p) => p.field)).toEqual([
      'url',
      'timeoutMs',
      'retryPolicy.maxAttempts',
      'patterns',
    ]);
  });

  it('refuses values GraphQL cannot coerce (enum, Int) with BAD_USER_INPUT', async () => {
    const before = await snapshot();
    expect((await admin.error(CREATE, { input: { url: 'https://h.example.com', orderingMode: 'RANDOM' } })).code).toBe('BAD_USER_INPUT');
    expect((await admin.error(CREATE, { input: { url: 'https://h.example.com', timeoutMs: 'soon' } })).code).toBe('BAD_USER_INPUT');
    expect((await admin.error(CREATE, { input: { timeoutMs: 5000 } })).code).toBe('BAD_USER_INPUT');
    expect(await snapshot()).toEqual(before);
  });

  it('accepts http:// and loopback addresses on this test service (WEBHOOKS_ALLOW_HTTP, allowlisted CIDRs)', async () => {
    const { endpoint } = await createEndpoint({ url: 'http://127.0.0.1:9/hook' });
    expect(endpoint.url).toBe('http://127.0.0.1:9/hook');
  });

  it('subscribes to custom types of the organization only', async () => {
    await admin.data(`mutation { createEventType(input: { name: "acme.invoice.paid" }) { id } }`);
    const { endpoint } = await createEndpoint({ patterns: ['acme.*'] });
    expect(endpoint.eventSubscriptions).toEqual([{ pattern: 'acme.*' }]);
    const error = await other.client.error(CREATE, { input: { url: 'https://h.example.com', patterns: ['acme.invoice.paid'] } });
    expect(error.code).toBe('BAD_USER_INPUT');
  });
});

describe('createEndpoint with WEBHOOKS_ALLOW_HTTP=false', () => {
  let strict: TestService;
  beforeAll(async () => {
    strict = await startTestService({ WEBHOOKS_ALLOW_HTTP: 'false' });
  });
  afterAll(async () => {
    await strict?.close();
  });

  it('refuses http:// URLs, naming the setting, and writes nothing', async () => {
    const error = await strict.client().error(CREATE, { input: { url: 'http://hooks.example.com/in' } });
    expect(error.code).toBe('BAD_USER_INPUT');
    expect(error.extensions.field).toBe('url');
    expect(error.message).toContain('WEBHOOKS_ALLOW_HTTP');
    expect(await strict.database.sql`SELECT id FROM endpoints`).toHaveLength(0);
    const ok = await strict.client().data(CREATE, { input: { url: 'https://hooks.example.com/in' } });
    expect(ok.createEndpoint.endpoint.url).toBe('https://hooks.example.com/in');
  });
});

describe('endpoints and endpoint(id)', () => {
  let labelled: any[];
  beforeAll(async () => {
    labelled = [];
    for (const labels of [['team:data-engineering'], ['team:data-engineering', 'tier:2'], ['team:finance']]) {
      labelled.push((await createEndpoint({ url: 'https://hooks.example.com/labelled', labels })).endpoint);
    }
    await admin.data(PAUSE, { id: labelled[2].id });
  });

  it('filters by label and by active', async () => {
    const byLabel = (await admin.data(LIST, { filter: { label: 'team:data-engineering' } })).endpoints;
    expect(byLabel.edges.map((e: any) => e.node.id)).toEqual([labelled[1].id, labelled[0].id]);
    const inactive = (await admin.data(LIST, { filter: { active: false } })).endpoints;
    expect(inactive.edges.map((e: any) => e.node.id)).toEqual([labelled[2].id]);
    const activeFinance = (await admin.data(LIST, { filter: { label: 'team:finance', active: true } })).endpoints;
    expect(activeFinance.edges).toEqual([]);
  });

  it('pages newest first with first/after', async () => {
    const all = (await admin.data(LIST, { first: 500 })).endpoints;
    expect(all.pageInfo.hasNextPage).toBe(false);
    const ids: string[] = all.edges.map((e: any) => e.node.id);
    expect([...ids].sort().reverse()).toEqual(ids);
    const page1 = (await admin.data(LIST, { first: 2 })).endpoints;
    expect(page1.edges.map((e: any) => e.node.id)).toEqual(ids.slice(0, 2));
    expect(page1.pageInfo).toMatchObject({ hasNextPage: true, hasPreviousPage: false, startCursor: ids[0], endCursor: ids[1] });
    const page2 = (await admin.data(LIST, { first: 2, after: page1.pageInfo.endCursor })).endpoints;
    expect(page2.edges.map((e: any) => e.node.id)).toEqual(ids.slice(2, 4));
    expect((await admin.error(LIST, { first: 0 })).code).toBe('BAD_USER_INPUT');
  });

  it('never shows another organization\'s endpoints', async () => {
    const { endpoint } = await createEndpoint({}, other.client);
    const mine = (await admin.data(LIST, { first: 500 })).endpoints.edges.map((e: any) => e.node.id);
    expect(mine).not.toContain(endpoint.id);
    const theirs = (await other.client.data(LIST, {})).endpoints.edges.map((e: any) => e.node.id);
    expect(theirs).toEqual([endpoint.id]);
  });

  it('answers NOT_FOUND for unknown, malformed and other organizations\' ids', async () => {
    const { endpoint } = await createEndpoint({}, other.client);
    for (const id of [endpoint.id, 'ep_01ARZ3NDEKTSV4RRFFQ69G5FAV', 'nonsense']) {
      const error = await admin.error(GET, { id });
      expect(error.code).toBe('NOT_FOUND');
      expect(error.message).toContain(id);
    }
    expect((await other.client.data(GET, { id: endpoint.id })).endpoint.id).toBe(endpoint.id);
  });

  it('gives professional organizations an empty list, not an error', async () => {
    const result = await professional.request(LIST, {});
    expect(result.errors).toBeUndefined();
    expect(result.data.endpoints).toEqual({
      edges: [],
      pageInfo: { hasNextPage: false, hasPreviousPage: false, startCursor: null, endCursor: null },
    });
  });
});

describe('custom header values', () => {
  it('are masked for viewers and shown to operators and admins', async () => {
    const { endpoint } = await createEndpoint({ headers: [{ name: 'Authorization', value: 'Bearer s3cr3t' }] });
    const read = (key: string) => service.client(key).data(`query($id: ID!) { endpoint(id: $id) { headers { name value } } }`, { id: endpoint.id });
    expect((await read(keys.viewer)).endpoint.headers).toEqual([{ name: 'Authorization', value: '••••' }]);
    expect((await read(keys.operator)).endpoint.headers).toEqual([{ name: 'Authorization', value: 'Bearer s3cr3t' }]);
    expect((await read(service.adminKey)).endpoint.headers).toEqual([{ name: 'Authorization', value: 'Bearer s3cr3t' }]);
  });
});

describe('updateEndpoint', () => {
  it('changes only the fields given and tells the workers', async () => {
    const { endpoint } = await createEndpoint({
      labels: ['a'],
      retryPolicy: { maxAttempts: 4 },
      headers: [{ name: 'X-A', value: '1' }],
      rateLimitPerSecond: 10,
      patterns: ['security.*'],
    });
    const changed = await listenTo('webhooks_endpoint_changed');
    try {
      const updated = (await admin.data(UPDATE, { id: endpoint.id, input: { timeoutMs: 2000, retryPolicy: { multiplier: 3 } } })).updateEndpoint;
      expect(updated).toEqual({
        ...endpoint,
        timeoutMs: 2000,
        retryPolicy: { ...endpoint.retryPolicy, multiplier: 3, maxAttempts: 4 },
        updatedAt: updated.updatedAt,
      });
      expect(Date.parse(updated.updatedAt)).toBeGreaterThan(Date.parse(endpoint.updatedAt));
      await changed.waitFor((p) => p.some((x) => x.includes(endpoint.id)));
    } finally {
      await changed.close();
    }
  });

  it('replaces headers and patterns, resets with null, and removes the rate limit', async () => {
    const { endpoint } = await createEndpoint({
      headers: [{ name: 'X-A', value: '1' }, { name: 'X-B', value: '2' }],
      rateLimitPerSecond: 10,
      maxInFlight: 3,
      patterns: ['security.*'],
    });
    const updated = (
      await admin.data(UPDATE, {
        id: endpoint.id,
        input: {
          url: 'https://hooks.example.com/moved',
          headers: [{ name: 'X-C', value: '3' }],
          rateLimitPerSecond: null,
          maxInFlight: null,
          description: 'moved',
          labels: ['z'],
          orderingMode: 'STRICT',
          circuitBreaker: { cooldownSeconds: 120 },
          patterns: ['pipeline.*', 'webhook.test'],
        },
      })
    ).updateEndpoint;
    expect(updated).toMatchObject({
      url: 'https://hooks.example.com/moved',
      headers: [{ name: 'X-C', value: '3' }],
      rateLimitPerSecond: null,
      maxInFlight: 16,
      description: 'moved',
      labels: ['z'],
      orderingMode: 'STRICT',
      circuitBreaker: { enabled: true, failureThreshold: 10, cooldownSeconds: 120 },
      eventSubscriptions: [{ pattern: 'pipeline.*' }, { pattern: 'webhook.test' }],
    });
    expect((await admin.data(UPDATE, { id: endpoint.id, input: { patterns: [] } })).updateEndpoint.eventSubscriptions).toEqual([]);
  });

  it('adds and removes mTLS (tls: null)', async () => {
    const { endpoint } = await createEndpoint();
    const withTls = (
      await admin.data(UPDATE, { id: endpoint.id, input: { tls: { clientCertificatePem: certs.clientCertPem, clientKeyPem: certs.clientKeyPem } } })
    ).updateEndpoint;
    expect(withTls.tls).toMatchObject({ hasClientKey: true, caCertificates: [] });
    const withoutTls = (await admin.data(UPDATE, { id: endpoint.id, input: { tls: null } })).updateEndpoint;
    expect(withoutTls.tls).toBeNull();
    const [row] = await service.database.sql`
      SELECT tls_client_certificate_pem, tls_client_key_sealed, tls_ca_certificate_pem FROM endpoints WHERE id = ${endpoint.id}`;
    expect(row).toEqual({ tls_client_certificate_pem: null, tls_client_key_sealed: null, tls_ca_certificate_pem: null });
  });

  it.each([
    ['a non-https URL', { url: 'ftp://hooks.example.com' }, 'url'],
    ['url: null', { url: null }, 'url'],
    ['a timeout out of range', { timeoutMs: 100 }, 'timeoutMs'],
    ['a retry policy out of range', { retryPolicy: { maxAttempts: 51 } }, 'retryPolicy.maxAttempts'],
    ['an unknown pattern', { patterns: ['pipeline.runs.*'] }, 'patterns'],
    ['a mismatched key', { tls: { clientCertificatePem: 'x', clientKeyPem: 'y' } }, 'tls.clientCertificatePem'],
  ])('refuses %s and leaves the endpoint as it was', async (_what, input, field) => {
    const { endpoint } = await createEndpoint({ patterns: ['security.*'] });
    const before = await snapshot();
    const error = await admin.error(UPDATE, { id: endpoint.id, input });
    expect(error.code).toBe('BAD_USER_INPUT');
    expect(error.extensions.field).toBe(field);
    expect(await snapshot()).toEqual(before);
  });

  it('answers NOT_FOUND for another organization\'s endpoint and leaves it unchanged', async () => {
    const { endpoint } = await createEndpoint({}, other.client);
    const before = await snapshot();
    const error = await admin.error(UPDATE, { id: endpoint.id, input: { description: 'hijacked' } });
    expect(error.code).toBe('NOT_FOUND');
    expect(await snapshot()).toEqual(before);
  });
});

describe('pauseEndpoint and resumeEndpoint', () => {
  it('pause records who paused it; resume closes the circuit and wakes the worker', async () => {
    const { endpoint } = await createEndpoint();
    const operator = service.client(keys.operator);
    const health = await listenTo('webhooks_endpoint_health');
    const wake = await listenTo('webhooks_wake');
    try {
      const paused = (await operator.data(PAUSE, { id: endpoint.id })).pauseEndpoint;
      expect(paused).toMatchObject({ active: false, disabledReason: 'Paused by "Ops bot"' });
      expect(Date.parse(paused.disabledAt)).toBeGreaterThan(Date.now() - 60_000);
      await health.waitFor((p) => p.some((x) => x.includes(endpoint.id) && x.includes('"active":false')));
      const change = JSON.parse(health.received.find((x) => x.includes(endpoint.id))!)[0];
      expect(change).toMatchObject({ orgId: service.orgId, endpointId: endpoint.id, active: false, circuitState: 'CLOSED', disabledReason: 'Paused by "Ops bot"' });

      // Pausing twice keeps the first record.
      expect((await operator.data(PAUSE, { id: endpoint.id })).pauseEndpoint.disabledAt).toBe(paused.disabledAt);

      await service.database.sql`
        UPDATE endpoints SET circuit_state = 'OPEN', consecutive_failures = 12, circuit_opened_at = now(),
               circuit_open_until = now() + interval '1 minute', circuit_cooldown_seconds = 120
        WHERE id = ${endpoint.id}`;
      const resumed = (await operator.data(RESUME, { id: endpoint.id })).resumeEndpoint;
      expect(resumed).toMatchObject({
        active: true,
        disabledReason: null,
        disabledAt: null,
        circuitState: 'CLOSED',
        consecutiveFailures: 0,
        circuitOpenUntil: null,
      });
      const [row] = await service.database.sql`SELECT circuit_opened_at, circuit_cooldown_seconds FROM endpoints WHERE id = ${endpoint.id}`;
      expect(row).toEqual({ circuit_opened_at: null, circuit_cooldown_seconds: null });
      await health.waitFor((p) => p.some((x) => x.includes(endpoint.id) && x.includes('"active":true')));
      await wake.waitFor((p) => p.some((x) => x.split(',').includes(endpoint.id)));
    } finally {
      await health.close();
      await wake.close();
    }
  });

  it('a paused endpoint gets no new deliveries', async () => {
    const { endpoint } = await createEndpoint({ url: 'https://hooks.example.invalid/x', patterns: ['webhook.test'] });
    await admin.data(PAUSE, { id: endpoint.id });
    const [outcome] = await service.engine.publisher.publish(service.orgId, [{ type: 'webhook.test', data: { n: 1 } }]);
    const deliveries = await service.database.sql`SELECT id FROM deliveries WHERE event_id = ${outcome!.event.id} AND endpoint_id = ${endpoint.id}`;
    expect(deliveries).toHaveLength(0);
  });

  it('answers NOT_FOUND for another organization\'s endpoint and leaves it running', async () => {
    const { endpoint } = await createEndpoint({}, other.client);
    for (const mutation of [PAUSE, RESUME]) {
      const before = await snapshot();
      expect((await admin.error(mutation, { id: endpoint.id })).code).toBe('NOT_FOUND');
      expect(await snapshot()).toEqual(before);
    }
  });
});

describe('setEventSubscriptions', () => {
  it('replaces the set, allows an empty list and tells the workers', async () => {
    const { endpoint } = await createEndpoint({ patterns: ['security.*'] });
    const changed = await listenTo('webhooks_endpoint_changed');
    try {
      const set = (await admin.data(SET_SUBS, { endpointId: endpoint.id, patterns: ['*', 'pipeline.run.failed'] })).setEventSubscriptions;
      expect(set.eventSubscriptions).toEqual([{ pattern: '*' }, { pattern: 'pipeline.run.failed' }]);
      expect((await admin.data(GET, { id: endpoint.id })).endpoint.eventSubscriptions).toEqual(set.eventSubscriptions);
      await changed.waitFor((p) => p.some((x) => x.includes(endpoint.id)));
    } finally {
      await changed.close();
    }
    const emptied = (await admin.data(SET_SUBS, { endpointId: endpoint.id, patterns: [] })).setEventSubscriptions;
    expect(emptied.eventSubscriptions).toEqual([]);
    expect(await service.database.sql`SELECT * FROM event_subscriptions WHERE endpoint_id = ${endpoint.id}`).toHaveLength(0);
  });

  it('routes published events by the patterns', async () => {
    const { endpoint } = await createEndpoint({ url: 'https://hooks.example.invalid/route', patterns: ['security.*'] });
    const publish = async (type: string) => {
      const [outcome] = await service.engine.publisher.publish(service.orgId, [{ type, data: {} }]);
      return service.database.sql`SELECT id FROM deliveries WHERE event_id = ${outcome!.event.id} AND endpoint_id = ${endpoint.id}`;
    };
    expect(await publish('security.policy.changed')).toHaveLength(1);
    expect(await publish('pipeline.run.failed')).toHaveLength(0);
    await admin.data(SET_SUBS, { endpointId: endpoint.id, patterns: ['pipeline.run.failed'] });
    expect(await publish('pipeline.run.failed')).toHaveLength(1);
    expect(await publish('security.policy.changed')).toHaveLength(0);
  });

  it.each([
    ['a misspelled type', ['pipline.run.failed'], /Did you mean "pipeline\.run\.failed"/],
    ['a prefix matching nothing', ['governance.contracts.*'], /Did you mean "governance\.contract\.\*"/],
    ['a duplicate', ['webhook.test', 'webhook.test'], /Duplicate pattern "webhook\.test"/],
  ])('refuses %s, naming the closest types, and keeps the old set', async (_what, patterns, message) => {
    const { endpoint } = await createEndpoint({ patterns: ['security.*'] });
    const before = await snapshot();
    const error = await admin.error(SET_SUBS, { endpointId: endpoint.id, patterns });
    expect(error.code).toBe('BAD_USER_INPUT');
    expect(error.message).toMatch(message);
    expect(await snapshot()).toEqual(before);
  });

  it('refuses patterns that only match deprecated types', async () => {
    const created = await admin.data(`mutation { createEventType(input: { name: "legacy.thing.happened" }) { id } }`);
    await admin.data(`mutation($id: ID!) { deprecateEventType(id: $id) { id } }`, { id: created.createEventType.id });
    const { endpoint } = await createEndpoint();
    const error = await admin.error(SET_SUBS, { endpointId: endpoint.id, patterns: ['legacy.*'] });
    expect(error.code).toBe('BAD_USER_INPUT');
  });

  it('answers NOT_FOUND for another organization\'s endpoint and leaves its set unchanged', async () => {
    const { endpoint } = await createEndpoint({ patterns: ['security.*'] }, other.client);
    const before = await snapshot();
    expect((await admin.error(SET_SUBS, { endpointId: endpoint.id, patterns: ['*'] })).code).toBe('NOT_FOUND');
    expect(await snapshot()).toEqual(before);
  });
});

describe('deleteEndpoint', () => {
  it('soft-deletes, cancels pending deliveries, drops the queue and tells the workers', async () => {
    const { endpoint } = await createEndpoint({ url: 'https://hooks.example.invalid/gone', patterns: ['webhook.test'] });
    const [outcome] = await service.engine.publisher.publish(service.orgId, [{ type: 'webhook.test', data: { n: 1 } }]);
    expect(outcome!.deliveryCount).toBeGreaterThanOrEqual(1);
    const changed = await listenTo('webhooks_endpoint_changed');
    try {
      const result = (await admin.data(DELETE, { id: endpoint.id })).deleteEndpoint;
      expect(result).toEqual({ deletedEndpointId: endpoint.id });
      await changed.waitFor((p) => p.some((x) => x.includes(endpoint.id) && x.includes('"deleted":true')));
    } finally {
      await changed.close();
    }
    const sql = service.database.sql;
    const deliveries = await sql`SELECT status, completed_at FROM deliveries WHERE endpoint_id = ${endpoint.id}`;
    expect(deliveries.length).toBeGreaterThanOrEqual(1);
    for (const d of deliveries) {
      expect(d.status).toBe('CANCELLED');
      expect(d.completed_at).not.toBeNull();
    }
    expect(await sql`SELECT 1 FROM pgboss.job WHERE data->>'p' = ${endpoint.id} AND state < 'active'`).toHaveLength(0);
    const [row] = await sql`SELECT deleted_at FROM endpoints WHERE id = ${endpoint.id}`;
    expect(row!.deleted_at).not.toBeNull();

    expect((await admin.error(GET, { id: endpoint.id })).code).toBe('NOT_FOUND');
    expect((await admin.data(LIST, { first: 500 })).endpoints.edges.map((e: any) => e.node.id)).not.toContain(endpoint.id);
    expect((await admin.error(DELETE, { id: endpoint.id })).code).toBe('NOT_FOUND');
    const [later] = await service.engine.publisher.publish(service.orgId, [{ type: 'webhook.test', data: { n: 2 } }]);
    expect(await sql`SELECT id FROM deliveries WHERE event_id = ${later!.event.id} AND endpoint_id = ${endpoint.id}`).toHaveLength(0);
  });

  it('answers NOT_FOUND for another organization\'s endpoint and leaves it in place', async () => {
    const { endpoint } = await createEndpoint({}, other.client);
    const before = await snapshot();
    expect((await admin.error(DELETE, { id: endpoint.id })).code).toBe('NOT_FOUND');
    expect(await snapshot()).toEqual(before);
    expect((await other.client.data(GET, { id: endpoint.id })).endpoint.id).toBe(endpoint.id);
  });
});

describe('roles and plans', () => {
  let target: string;
  beforeAll(async () => {
    target = (await createEndpoint()).endpoint.id;
  });

  const mutations = (id: string): [string, string, Record<string, unknown>][] => [
    ['createEndpoint', CREATE, { input: { url: 'https://hooks.example.com/r' } }],
    ['updateEndpoint', UPDATE, { id, input: { description: 'x' } }],
    ['deleteEndpoint', DELETE, { id }],
    ['setEventSubscriptions', SET_SUBS, { endpointId: id, patterns: ['*'] }],
  ];

  it.each(['operator', 'publisher', 'viewer'] as const)('%s cannot change endpoints (FORBIDDEN naming the admin role)', async (role) => {
    const client = service.client(keys[role]);
    for (const [name, query, variables] of mutations(target)) {
      const before = await snapshot();
      const error = await client.error(query, variables);
      expect(error.code, name).toBe('FORBIDDEN');
      expect(error.message).toContain(`the ${role} role`);
      expect(error.message).toContain('Use a key with the admin role');
      expect(await snapshot()).toEqual(before);
    }
  });

  it.each(['publisher', 'viewer'] as const)('%s cannot pause or resume (FORBIDDEN naming operator or admin)', async (role) => {
    for (const query of [PAUSE, RESUME]) {
      const error = await service.client(keys[role]).error(query, { id: target });
      expect(error.code).toBe('FORBIDDEN');
      expect(error.message).toContain('operator or admin');
    }
  });

  it('viewers and operators read endpoints; publishers cannot', async () => {
    for (const role of ['viewer', 'operator'] as const) {
      expect((await service.client(keys[role]).data(GET, { id: target })).endpoint.id).toBe(target);
    }
    const error = await service.client(keys.publisher).error(LIST, {});
    expect(error.code).toBe('FORBIDDEN');
    expect(error.message).toContain('publisher role');
  });

  it('professional organizations get FEATURE_NOT_AVAILABLE from every endpoint mutation', async () => {
    for (const [name, query, variables] of [...mutations(target), ['pauseEndpoint', PAUSE, { id: target }], ['resumeEndpoint', RESUME, { id: target }]] as const) {
      const before = await snapshot();
      const error = await professional.error(query, variables as Record<string, unknown>);
      expect(error.code, name).toBe('FEATURE_NOT_AVAILABLE');
      expect(error.message).toContain('enterprise');
      expect(await snapshot()).toEqual(before);
    }
  });

  it('without a valid API key everything is UNAUTHENTICATED', async () => {
    for (const key of [null, 'whk_forged']) {
      expect((await service.client(key).error(LIST, {})).code).toBe('UNAUTHENTICATED');
      expect((await service.client(key).error(CREATE, { input: { url: 'https://h.example.com' } })).code).toBe('UNAUTHENTICATED');
    }
  });
});
