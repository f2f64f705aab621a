/**
 * Hostile input (fast): property-based fuzzing (fast-check) of every mutation's inputs and of the
 * query arguments, through the real HTTP API of an api-only service (no worker: nothing is
 * delivered, so the tables change only by what the API writes). Each call must answer with an
 * expected error code or succeed; never INTERNAL_SERVER_ERROR, never a 5xx; and a refused call
 * must leave every table exactly as it was (row counts and content hashes). Plus the HTTP edge:
 * depth, breadth and cost limits, oversized bodies (413), malformed JSON and GraphQL syntax (400).
 */
import http from 'node:http';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestService, type TestService } from '../helpers/service.js';
import type { GraphQLClient, GraphQLResponse } from '../helpers/graphql.js';
import { getTestCertificates, type TestCertificates } from '../helpers/certs.js';
import { QUERY_LIMITS } from '../../server/graphql/builder.js';
import { requestBodyLimits } from '../../server/graphql/bodyLimit.js';
import { changedTables, recordFigures, snapshotTables } from './support.js';

/** Codes a refusal may carry: the documented ones, plus graphql-js/yoga request errors. */
const EXPECTED_CODES = new Set([
  'BAD_USER_INPUT',
  'NOT_FOUND',
  'PAYLOAD_TOO_LARGE',
  'FORBIDDEN',
  'FEATURE_NOT_AVAILABLE',
  'GRAPHQL_VALIDATION_FAILED',
  'GRAPHQL_PARSE_FAILED',
  'BAD_REQUEST',
]);
const RUNS = Number(process.env.FAULTS_FUZZ_RUNS ?? 20);
const SEED = Number(process.env.FAULTS_SEED ?? Date.now() % 1_000_000);

let service: TestService;
let admin: GraphQLClient;
let certs: TestCertificates;
let endpointId: string;
let foreign: { endpointId: string; keyId: string; eventTypeId: string; apiKeyId: string; eventId: string; deliveryId: string };
const stats = { calls: 0, refused: 0, accepted: 0, byCode: {} as Record<string, number> };

beforeAll(async () => {
  // No worker: published events stay queued, and nothing leaves this machine.
  service = await startTestService({ WEBHOOKS_ROLES: 'api' });
  admin = service.client();
  certs = await getTestCertificates();
  endpointId = (
    await admin.data(`mutation { createEndpoint(input: { url: "https://hooks.example.com/fuzz", patterns: ["*"] }) { endpoint { id } } }`)
  ).createEndpoint.endpoint.id;
  // Another organization's ids, to try in every id argument.
  const other = await service.services.organizations.createOrganization({ name: 'fuzz-foreign', plan: 'enterprise' });
  const b = service.client(other.apiKey);
  const ep = (await b.data(`mutation { createEndpoint(input: { url: "https://hooks.example.com/b", patterns: ["*"] }) { endpoint { id } } }`)).createEndpoint.endpoint.id;
  const key = (await b.data(`query($id: ID!) { signingKeys(endpointId: $id) { id } }`, { id: ep })).signingKeys[0].id;
  const type = (await b.data(`mutation { createEventType(input: { name: "foreign.thing.done" }) { id } }`)).createEventType.id;
  const apiKey = (await b.data(`mutation { createApiKey(role: VIEWER, name: "b viewer") { apiKey { id } } }`)).createApiKey.apiKey.id;
  const published = (await b.data(`mutation { publishEvent(input: { type: "pipeline.run.failed", data: {} }) { event { id deliveries { id } } } }`))
    .publishEvent.event;
  foreign = { endpointId: ep, keyId: key, eventTypeId: type, apiKeyId: apiKey, eventId: published.id, deliveryId: published.deliveries[0].id };
}, 60_000);

afterAll(async () => {
  recordFigures('hostileInput', { seed: SEED, runsPerProperty: RUNS, ...stats });
  await service?.close();
});

/**
 * Sends one operation and checks the contract: an allowed status, only expected codes, and no
 * trace in the database when it was refused. Returns the response for further checks.
 */
async function probe(query: string, variables: Record<string, unknown>, client: GraphQLClient = admin): Promise<GraphQLResponse> {
  const before = await snapshotTables(service.database.sql);
  const response = await client.request(query, variables);
  stats.calls++;
  const context = () => `${query.slice(0, 80)} ${JSON.stringify(variables).slice(0, 300)} -> ${response.status} ${JSON.stringify(response.errors)?.slice(0, 400)}`;
  expect([200, 400, 413], context()).toContain(response.status);
  if (response.errors?.length) {
    stats.refused++;
    for (const error of response.errors) {
      const code = String(error.extensions?.code);
      stats.byCode[code] = (stats.byCode[code] ?? 0) + 1;
      expect(EXPECTED_CODES.has(code), `unexpected code ${code}: ${context()}`).toBe(true);
      expect(error.message, context()).not.toMatch(/Internal error|SQL|syntax error at|postgres|violates/i);
    }
    const after = await snapshotTables(service.database.sql);
    expect(changedTables(before, after), `half-written rows after a refused call: ${context()}`).toEqual([]);
  } else {
    stats.accepted++;
  }
  return response;
}

// ---------------------------------------------------------------- arbitraries

const loneSurrogate = fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c));
const control = fc.integer({ min: 0, max: 0x1f }).map((c) => String.fromCharCode(c));
const nasty = fc.constantFrom(
  '',
  ' ',
  '\u0000',
  'a\u0000b',
  '\r\n',
  'x\r\nInjected: 1',
  "' OR 1=1 --",
  '"; DROP TABLE endpoints; --',
  '${jndi:ldap://x}',
  '<script>alert(1)</script>',
  '../../../etc/passwd',
  '\u202e\u200b\ufeff',
  '𝕳𝖊𝖑𝖑𝖔 👩‍👩‍👧‍👦',
  'null',
  'undefined',
  '__proto__',
  'constructor',
);
/** Short strings of every kind, and a few huge ones. */
const hostileString = fc.oneof(
  { weight: 4, arbitrary: fc.string({ maxLength: 40 }) },
  { weight: 3, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 3, arbitrary: nasty },
  { weight: 2, arbitrary: fc.array(fc.oneof(loneSurrogate, control, fc.string({ maxLength: 3 })), { maxLength: 12 }).map((a) => a.join('')) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.constantFrom(1_001, 2_049, 65_537, 300_000, 2_000_000), fc.constantFrom('a', 'é', '😀', '\u0000'))
      .map(([n, c]) => c.repeat(Math.ceil(n / c.length))),
  },
);
const int32Edges = fc.constantFrom(0, -1, 1, 2, 999, 1_000, 1_001, 30_000, 30_001, 3_600, 3_601, 86_400, 86_401, 100_000, 100_001, 2 ** 31 - 1, -(2 ** 31));
const hostileInt = fc.oneof(int32Edges, fc.integer(), fc.constantFrom(2 ** 31, 2 ** 53, -(2 ** 53), 1.5));
const hostileFloat = fc.oneof(fc.double({ noNaN: true }), fc.constantFrom(0, 1, 10, 10.0001, 0.9999, -1, 1e308, 5e-324));
const maybe = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });

const hostileUrl = fc.oneof(
  fc.webUrl({ withQueryParameters: true, withFragments: true }),
  hostileString,
  fc.constantFrom(
    'javascript:alert(1)',
    'file:///etc/passwd',
    'gopher://127.0.0.1:25/',
    'ftp://hooks.example.com/',
    'https://',
    'https://user:pass@hooks.example.com/x',
    'https://hooks.example.com:0/',
    'https://hooks.example.com:65536/',
    'https://exa mple.com/',
    'https://ünïcode.example/ü',
    'https://169.254.169.254/latest/meta-data',
    'https://10.0.0.1/',
    'https://[fd00::1]/',
    'https://[::ffff:10.0.0.1]/',
    'https://0x7f000001/',
    'https://2130706433/',
    'https://127.1/',
    'https://metadata.google.internal/',
    `https://hooks.example.com/${'a'.repeat(3000)}`,
  ),
);

const hostileHeaders = fc.array(
  fc.record({
    name: fc.oneof(fc.constantFrom('X-Token', 'host', 'Webhook-Id', 'content-length', 'x y', 'x:y', 'X-Ü', ''), hostileString),
    value: hostileString,
  }),
  { maxLength: 25 },
);

const pem = (label: string, body: string) => `-----BEGIN ${label}-----\n${body}\n-----END ${label}-----\n`;
/** PEMs: garbage, truncated, the wrong kind, huge; the real test PKI is mixed in at run time. */
const hostilePem = () =>
  fc.oneof(
    hostileString,
    fc.constantFrom(
      pem('CERTIFICATE', 'AAAA'),
      pem('PRIVATE KEY', 'not base64 !!'),
      pem('ENCRYPTED PRIVATE KEY', 'MIIBAAAA'),
      pem('RSA PRIVATE KEY', 'A'.repeat(70_000)),
      certs.clientCertPem.slice(0, 200),
      certs.clientKeyPem.slice(0, 100),
      certs.clientKeyPem, // a key where a certificate is expected, and the reverse below
      certs.caCertPem,
      certs.clientCertPem,
      certs.serverKeyPem,
    ),
  );

const jsonValue = fc.jsonValue({ maxDepth: 4 });
/** Deeply nested JSON (below and above what recursive code and Postgres accept). */
function nested(depth: number): { nested: unknown } {
  let value: unknown = 'leaf';
  for (let i = 0; i < depth; i++) value = i % 2 ? { a: value } : [value];
  return { nested: value };
}
/** Nesting deep enough to matter, shallow enough for fast-check to print a counterexample. */
const deepJson = fc.constantFrom(10, 100, 500).map(nested);
const hostileData = fc.oneof(
  { weight: 3, arbitrary: fc.dictionary(hostileString.filter((s) => s.length < 100), jsonValue, { maxKeys: 6 }) },
  { weight: 1, arbitrary: deepJson },
  { weight: 1, arbitrary: fc.oneof(fc.constant(null), fc.constant([]), fc.integer(), fc.string(), fc.constant(true)) },
  { weight: 1, arbitrary: fc.constantFrom(256 * 1024 - 20, 256 * 1024 + 1, 1_000_000).map((n) => ({ blob: 'x'.repeat(n) })) },
);

/** Ids: garbage, well-formed but unknown, another org's, and this org's own. */
const hostileId = () =>
  fc.oneof(
    hostileString,
    fc.constantFrom(
      'ep_00000000000000000000000000',
      'dlv_00000000000000000000000000',
      'evt_zzzzzzzzzzzzzzzzzzzzzzzzzz',
      foreign.endpointId,
      foreign.keyId,
      foreign.eventTypeId,
      foreign.apiKeyId,
      foreign.eventId,
      foreign.deliveryId,
    ),
  );

const patterns = fc.array(
  fc.oneof(
    hostileString,
    fc.constantFrom('*', '**', '.*', '*.*', 'security.*', 'pipeline.*.failed', 'pipeline..run', 'pipeline.run.failed', 'pipeline.run.failed.*', 'PIPELINE.RUN.FAILED', 'nope.nope'),
  ),
  { maxLength: 8 },
);

const retryPolicy = fc.record(
  { initialBackoffSeconds: hostileInt, multiplier: hostileFloat, maxBackoffSeconds: hostileInt, maxAttempts: hostileInt },
  { requiredKeys: [] },
);
const circuitBreaker = fc.record({ enabled: fc.boolean(), failureThreshold: hostileInt, cooldownSeconds: hostileInt }, { requiredKeys: [] });
const tls = () =>
  fc.record({ clientCertificatePem: hostilePem(), clientKeyPem: hostilePem(), caCertificatePem: hostilePem() }, { requiredKeys: [] });

const endpointSettings = () =>
  fc.record(
    {
      description: hostileString,
      labels: fc.array(hostileString, { maxLength: 25 }),
      timeoutMs: hostileInt,
      retryPolicy,
      circuitBreaker,
      maxInFlight: hostileInt,
      rateLimitPerSecond: fc.option(hostileInt, { nil: null }),
      orderingMode: fc.constantFrom('BEST_EFFORT', 'STRICT'),
      headers: hostileHeaders,
      tls: fc.option(tls(), { nil: null }),
      patterns,
    },
    { requiredKeys: [] },
  );

const params = () => ({ numRuns: RUNS, seed: SEED, endOnFailure: true });

// ---------------------------------------------------------------- mutations

describe('every mutation, fuzzed: expected codes only, nothing half-written', () => {
  it('createEndpoint', async () => {
    await fc.assert(
      fc.asyncProperty(
        hostileUrl,
        endpointSettings(),
        maybe(fc.constantFrom('HMAC_SHA256', 'ED25519')),
        async (url, settings, signingAlgorithm) => {
          const input = { url, ...settings, ...(signingAlgorithm ? { signingAlgorithm } : {}) };
          const response = await probe(`mutation($input: CreateEndpointInput!) { createEndpoint(input: $input) { endpoint { id url } secret } }`, { input });
          if (!response.errors) {
            // Accepted: what was stored is what the API shows.
            const created = response.data.createEndpoint;
            const [row] = await service.database.sql`SELECT url FROM endpoints WHERE id = ${created.endpoint.id}`;
            expect(row!.url).toBe(created.endpoint.url);
          }
        },
      ),
      params(),
    );
  });

  it('updateEndpoint', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof({ weight: 4, arbitrary: fc.constant('own') }, { weight: 1, arbitrary: hostileId() }),
        endpointSettings(),
        maybe(hostileUrl),
        async (id, settings, url) => {
          const input = { ...settings, ...(url !== undefined ? { url } : {}) };
          await probe(`mutation($id: ID!, $input: UpdateEndpointInput!) { updateEndpoint(id: $id, input: $input) { id } }`, {
            id: id === 'own' ? endpointId : id,
            input,
          });
        },
      ),
      params(),
    );
  });

  it('deleteEndpoint, pauseEndpoint, resumeEndpoint, sendTestEvent, retryDelivery, revokeSigningKey, revokeApiKey, deprecateEventType (ids)', async () => {
    const byId = [
      `mutation($id: ID!) { deleteEndpoint(id: $id) { deletedEndpointId } }`,
      `mutation($id: ID!) { pauseEndpoint(id: $id) { id } }`,
      `mutation($id: ID!) { resumeEndpoint(id: $id) { id } }`,
      `mutation($id: ID!) { sendTestEvent(endpointId: $id) { id } }`,
      `mutation($id: ID!) { retryDelivery(id: $id) { id } }`,
      `mutation($id: ID!) { revokeSigningKey(id: $id) { id } }`,
      `mutation($id: ID!) { revokeApiKey(id: $id) { id } }`,
      `mutation($id: ID!) { deprecateEventType(id: $id) { id } }`,
    ];
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...byId), hostileId(), async (query, id) => {
        const response = await probe(query, { id });
        // Never the own org's object (not passed here), so never a success.
        expect(response.errors?.length, `${query} ${id}`).toBeGreaterThan(0);
      }),
      { ...params(), numRuns: RUNS * 2 },
    );
  });

  it('setEventSubscriptions', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof({ weight: 4, arbitrary: fc.constant(endpointId) }, { weight: 1, arbitrary: hostileId() }),
        fc.oneof(patterns, fc.constant(Array.from({ length: 2_000 }, (_, i) => `pipeline.run.${i}`))),
        async (id, list) => {
          await probe(`mutation($id: ID!, $p: [String!]!) { setEventSubscriptions(endpointId: $id, patterns: $p) { id } }`, { id, p: list });
        },
      ),
      params(),
    );
  });

  it('createEventType (names, categories, descriptions, JSON Schemas)', async () => {
    const schema = fc.oneof(
      jsonValue,
      fc.constantFrom(
        { type: 'nonsense' },
        { $ref: 'https://schemas.example.com/remote.json' },
        { $ref: '#/$defs/a', $defs: { a: { $ref: '#/$defs/a' } } },
        { type: 'object', required: 'x' },
        { type: 'string', pattern: '(' },
        { type: 'string', format: 'no-such-format' },
        { properties: { a: { type: 'integer', minimum: 'x' } } },
      ),
      deepJson,
    );
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(hostileString, fc.stringMatching(/^[a-z]{1,8}\.[a-z]{1,8}(\.[a-z_]{1,8})?$/)),
        maybe(hostileString),
        maybe(hostileString),
        maybe(schema),
        async (name, category, description, schemaValue) => {
          await probe(`mutation($input: CreateEventTypeInput!) { createEventType(input: $input) { id } }`, {
            input: { name, category, description, schema: schemaValue },
          });
        },
      ),
      params(),
    );
  });

  it('rotateSigningKey', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof({ weight: 3, arbitrary: fc.constant(endpointId) }, { weight: 1, arbitrary: hostileId() }),
        fc.constantFrom('HMAC_SHA256', 'ED25519'),
        hostileInt,
        async (id, algorithm, grace) => {
          await probe(
            `mutation($id: ID!, $a: SigningAlgorithm, $g: Int) { rotateSigningKey(endpointId: $id, algorithm: $a, gracePeriodSeconds: $g) { signingKey { id } } }`,
            { id, a: algorithm, g: grace },
          );
        },
      ),
      params(),
    );
  });

  it('publishEvent and publishEvents (types, JSON payloads at and past 256 KiB, deep nesting, idempotency and ordering keys)', async () => {
    const input = fc.record(
      {
        type: fc.oneof(fc.constantFrom('pipeline.run.failed', 'webhook.test', 'foreign.thing.done', 'pipeline.run'), hostileString),
        data: hostileData,
        eventId: fc.option(hostileString, { nil: undefined }),
        orderingKey: fc.option(hostileString, { nil: undefined }),
      },
      { requiredKeys: ['type', 'data'] },
    );
    await fc.assert(
      fc.asyncProperty(input, async (event) => {
        await probe(`mutation($input: PublishEventInput!) { publishEvent(input: $input) { event { id } duplicate deliveryCount } }`, { input: event });
      }),
      params(),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.array(input, { maxLength: 5 }), fc.constant(Array.from({ length: 1_001 }, () => ({ type: 'pipeline.run.failed', data: {} })))),
        async (inputs) => {
          await probe(`mutation($inputs: [PublishEventInput!]!) { publishEvents(inputs: $inputs) { event { id } } }`, { inputs });
        },
      ),
      { ...params(), numRuns: Math.ceil(RUNS / 2) },
    );
  });

  it('replayDeliveries (filters, windows, statuses)', async () => {
    const date = fc.oneof(
      fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
      hostileString,
      fc.constantFrom('2026-13-45T99:99:99Z', '0000-01-01T00:00:00Z', '+275760-09-13T00:00:00.000Z', '1970-01-01'),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.record(
          {
            endpointId: hostileId(),
            statuses: fc.array(fc.constantFrom('PENDING', 'SUCCEEDED', 'DEAD', 'CANCELLED')),
            eventType: hostileString,
            since: date,
            until: date,
            eventId: hostileId(),
          },
          { requiredKeys: [] },
        ),
        async (filter) => {
          await probe(`mutation($f: DeliveryFilter!) { replayDeliveries(filter: $f) { count } }`, { f: filter });
        },
      ),
      params(),
    );
  });

  it('createApiKey (names, roles)', async () => {
    await fc.assert(
      fc.asyncProperty(hostileString, fc.constantFrom('ADMIN', 'OPERATOR', 'PUBLISHER', 'VIEWER'), async (name, role) => {
        const response = await probe(`mutation($n: String!, $r: ApiKeyRole!) { createApiKey(name: $n, role: $r) { key apiKey { id name } } }`, { n: name, r: role });
        if (!response.errors) expect(response.data.createApiKey.key).toMatch(/^whk_/);
      }),
      params(),
    );
  });
});

describe('deeply nested JSON', () => {
  it('publishEvent and createEventType answer data or an expected error at every depth (no stack overflow, no 5xx)', async () => {
    // Built as text: JSON.stringify itself overflows the stack at these depths.
    const deepText = (depth: number) => `${'{"a":['.repeat(depth)}"leaf"${']}'.repeat(depth)}`;
    for (const depth of [1_000, 5_000, 20_000, 40_000]) {
      for (const [query, variables] of [
        [`mutation($input: PublishEventInput!) { publishEvent(input: $input) { event { id } } }`, `{"input":{"type":"pipeline.run.failed","data":${deepText(depth)}}}`],
        [`mutation($input: CreateEventTypeInput!) { createEventType(input: $input) { id } }`, `{"input":{"name":"deep.depth.d${depth}","schema":{"type":"object","properties":${deepText(depth)}}}}`],
      ]) {
        const before = await snapshotTables(service.database.sql);
        const response = await raw(`{"query":${JSON.stringify(query)},"variables":${variables}}`);
        stats.calls++;
        expect([200, 400, 413], `${query} depth ${depth}: ${response.status}`).toContain(response.status);
        const code = response.body?.errors?.[0]?.extensions?.code;
        if (code) {
          stats.refused++;
          stats.byCode[code] = (stats.byCode[code] ?? 0) + 1;
          expect(EXPECTED_CODES.has(code), `${query} depth ${depth}: ${JSON.stringify(response.body.errors).slice(0, 300)}`).toBe(true);
          expect(changedTables(before, await snapshotTables(service.database.sql))).toEqual([]);
        } else {
          stats.accepted++;
        }
      }
    }
  });
});

describe('queries with hostile arguments', () => {
  it('lists, filters, cursors, pages, ids and stats windows answer data or an expected error', async () => {
    const queries = [
      `query($first: Int, $after: String, $f: DeliveryFilter) { deliveries(first: $first, after: $after, filter: $f) { edges { node { id } } } }`,
      `query($first: Int, $after: String) { events(first: $first, after: $after) { edges { node { id } } } }`,
      `query($first: Int, $after: String) { endpoints(first: $first, after: $after) { edges { node { id } } } }`,
      `query($first: Int, $after: String) { eventTypes(first: $first, after: $after) { edges { node { id } } } }`,
      `query($first: Int, $after: String) { apiKeys(first: $first, after: $after) { edges { node { id } } } }`,
    ];
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...queries),
        maybe(hostileInt),
        maybe(hostileString),
        maybe(fc.record({ endpointId: hostileId(), eventType: hostileString, since: hostileString }, { requiredKeys: [] })),
        async (query, first, after, f) => {
          await probe(query, { first, after, ...(query.includes('$f') ? { f } : {}) });
        },
      ),
      params(),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(
          `query($id: ID!) { endpoint(id: $id) { id } }`,
          `query($id: ID!) { event(id: $id) { id } }`,
          `query($id: ID!) { delivery(id: $id) { id } }`,
          `query($id: ID!) { signingKeys(endpointId: $id) { id } }`,
        ),
        hostileId(),
        async (query, id) => {
          const response = await probe(query, { id });
          expect(response.errors?.[0]?.extensions?.code, `${query} ${id}`).toMatch(/NOT_FOUND|BAD_USER_INPUT/);
        },
      ),
      params(),
    );
    await fc.assert(
      fc.asyncProperty(hostileInt, fc.oneof(fc.date().map((d) => (isNaN(d.getTime()) ? 'x' : d.toISOString())), hostileString), async (bucket, since) => {
        await probe(`query($id: ID!, $b: Int!, $s: DateTime!) { deliveryStats(endpointId: $id, bucketSeconds: $b, since: $s) { total } }`, {
          id: endpointId,
          b: bucket,
          s: since,
        });
      }),
      params(),
    );
  });
});

// ---------------------------------------------------------------- the HTTP edge

async function raw(body: string, headers: Record<string, string> = {}): Promise<{ status: number; body: any }> {
  const response = await fetch(`${service.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${service.adminKey}`, ...headers },
    body,
  });
  const text = await response.text();
  let parsed: any = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON
  }
  return { status: response.status, body: parsed };
}

describe('limits at the HTTP edge', () => {
  it('refuses queries deeper than QUERY_LIMITS.depth, costlier than QUERY_LIMITS.complexity and wider than QUERY_LIMITS.breadth, before running them', async () => {
    // Depth without lists (cheap otherwise): Delivery.lastAttempt.delivery.lastAttempt...
    let selection = 'id';
    for (let i = 0; i < QUERY_LIMITS.depth; i++) selection = `lastAttempt { delivery { ${selection} } }`;
    const deep = await raw(JSON.stringify({ query: `{ delivery(id: "dlv_x") { ${selection} } }` }));
    expect(deep.status).toBe(200);
    expect(deep.body.errors[0].message).toMatch(/depth/i);
    expect(deep.body.errors[0].extensions.code).toBe('BAD_USER_INPUT');

    const costly = await raw(
      JSON.stringify({
        query: `{ deliveries(first: 500) { edges { node { attempts { delivery { attempts { delivery { event { deliveries { attempts { id } } } } } } } } } } }`,
      }),
    );
    expect(costly.body.errors[0].message).toMatch(/complexity/i);
    expect(costly.body.errors[0].extensions.code).toBe('BAD_USER_INPUT');

    // Wide documents need aliases, and the alias limit (30) comes first.
    const wide = await raw(JSON.stringify({ query: `{ ${Array.from({ length: QUERY_LIMITS.breadth + 1 }, (_, i) => `a${i}: viewer { role }`).join(' ')} }` }));
    expect(wide.body.errors[0].message).toMatch(/aliases|breadth/i);
    expect(wide.body.errors[0].extensions.code).toBe('BAD_USER_INPUT');

    // Alias bombs and fragment cycles: validation errors, not a hung server.
    const cycle = await raw(JSON.stringify({ query: `query { viewer { ...A } } fragment A on Viewer { org { id } ...B } fragment B on Viewer { ...A }` }));
    expect(cycle.body.errors[0].extensions.code).toBe('GRAPHQL_VALIDATION_FAILED');
    const within = await raw(JSON.stringify({ query: `{ viewer { role org { id name plan } } }` }));
    expect(within.body.data.viewer.role).toBe('ADMIN');
  });

  it('answers 413 to an oversized body, announced (content-length) or streamed (chunked), without reading it all', async () => {
    const announced = await new Promise<number>((resolve, reject) => {
      const req = http.request(
        `${service.url}/graphql`,
        { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': String(100 * 1024 * 1024) } },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      req.write('{"query":"');
    });
    expect(announced).toBe(413);

    let streamedBody = '';
    const streamed = await new Promise<number>((resolve) => {
      const req = http.request(
        `${service.url}/graphql`,
        { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${service.adminKey}`, 'transfer-encoding': 'chunked' } },
        (res) => {
          res.setEncoding('utf8');
          res.on('data', (c: string) => (streamedBody += c));
          res.on('end', () => resolve(res.statusCode ?? 0));
          res.on('error', () => resolve(res.statusCode ?? -1));
        },
      );
      req.on('error', () => resolve(-1));
      const chunk = Buffer.alloc(1024 * 1024, 'a');
      req.write('{"query":"{ viewer { role } }","pad":"');
      let sent = 0;
      const pump = () => {
        while (sent < 80) {
          sent++;
          if (!req.write(chunk)) return void req.once('drain', pump);
        }
        req.end('"}');
      };
      pump();
    });
    // 413, or the connection cut once the limit was passed: never a 2xx or a 5xx.
    expect([413, -1]).toContain(streamed);
    if (streamed === 413) expect(JSON.parse(streamedBody).errors[0].extensions.code).toBe('PAYLOAD_TOO_LARGE');

    // Below the limit a large body is read and answered (yoga's own 25 MB default no longer applies):
    // the limit is the largest legal request, a full publishEvents batch (requestBodyLimits).
    const large = await raw(JSON.stringify({ query: '{ viewer { role } }', extensions: { pad: 'a'.repeat(requestBodyLimits().authenticated - 1024 * 1024) } }));
    expect(large.status, JSON.stringify(large.body).slice(0, 300)).toBe(200);
    expect(large.body.data?.viewer.role, JSON.stringify(large.body).slice(0, 400)).toBe('ADMIN');
    const alive = await raw(JSON.stringify({ query: '{ viewer { role } }' }));
    expect(alive.status).toBe(200);
  });

  it('answers 400 to malformed JSON and GraphQL syntax errors (GraphQL over HTTP), never 5xx', async () => {
    for (const body of ['{"query": ', 'nope', '{"query": "{ viewer { role } }"', '\u0000', '{"query": 5}', '[{"query": "{ viewer { role } }"}]', '{"query": "{ viewer { role } }", "variables": "x"}']) {
      const response = await raw(body);
      expect(response.status, body).toBe(400);
      expect(response.body.errors[0].extensions.code, body).toMatch(/BAD_REQUEST|GRAPHQL_PARSE_FAILED/);
    }
    for (const query of ['{ viewer { ', '}}}}', 'query query query', `{ viewer(${'a: 1,'.repeat(10_000)}) { role } }`, '"\\u0000"']) {
      const spec = await raw(JSON.stringify({ query }), { accept: 'application/graphql-response+json' });
      expect(spec.status, query).toBe(400);
      // Documents over the token limit are refused with the API's own BAD_USER_INPUT.
      expect(spec.body.errors[0].extensions.code, query).toMatch(/GRAPHQL_PARSE_FAILED|GRAPHQL_VALIDATION_FAILED|BAD_REQUEST|BAD_USER_INPUT/);
      // Legacy `application/json` clients get 200 with the error, as the GraphQL over HTTP spec says.
      const legacy = await raw(JSON.stringify({ query }), { accept: 'application/json' });
      expect([200, 400], query).toContain(legacy.status);
      expect(legacy.body.errors[0].extensions.code, query).not.toBe('INTERNAL_SERVER_ERROR');
    }
    const wrongType = await raw('hello', { 'content-type': 'text/plain' });
    expect(wrongType.status).toBeLessThan(500);
  });
});
