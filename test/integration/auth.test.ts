/**
 * Authentication and authorisation at the API edge: missing, malformed, forged and revoked keys,
 * each role's rights on every endpoint/event-type/signing-key/API-key field, and the org boundary.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestService, type TestService } from '../helpers/service.js';
import { graphqlClient, type GraphQLClient } from '../helpers/graphql.js';

const CREATE_KEY = `mutation($role: ApiKeyRole!, $name: String!) { createApiKey(role: $role, name: $name) { key apiKey { id } } }`;
const VIEWER = `{ viewer { role apiKeyName org { id } } }`;

type Role = 'admin' | 'operator' | 'publisher' | 'viewer';

let service: TestService;
let clients: Record<Role, GraphQLClient>;
let endpointId: string;
let keyId: string;
let customTypeId: string;

beforeAll(async () => {
  service = await startTestService();
  const admin = service.client();
  const key = async (role: string) => (await admin.data(CREATE_KEY, { role, name: `${role.toLowerCase()} key` })).createApiKey.key as string;
  clients = {
    admin,
    operator: service.client(await key('OPERATOR')),
    publisher: service.client(await key('PUBLISHER')),
    viewer: service.client(await key('VIEWER')),
  };
  endpointId = (await admin.data(`mutation { createEndpoint(input: { url: "https://hooks.example.com/auth" }) { endpoint { id } } }`)).createEndpoint
    .endpoint.id;
  keyId = (await admin.data(`query($id: ID!) { signingKeys(endpointId: $id) { id } }`, { id: endpointId })).signingKeys[0].id;
  customTypeId = (await admin.data(`mutation { createEventType(input: { name: "auth.check.done" }) { id } }`)).createEventType.id;
});

afterAll(async () => {
  await service?.close();
});

describe('authentication', () => {
  it('answers UNAUTHENTICATED without a key, saying how to send one', async () => {
    const error = await service.client(null).error(VIEWER);
    expect(error.code).toBe('UNAUTHENTICATED');
    expect(error.message).toContain('Authorization: Bearer');
  });

  it.each([
    ['a malformed key', 'Bearer not-a-key', /Malformed API key/],
    ['a forged key', 'Bearer whk_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', /Unknown API key/],
    ['an empty bearer', 'Bearer ', /Missing API key|Malformed/],
  ])('answers UNAUTHENTICATED for %s', async (_what, header, message) => {
    const response = await fetch(`${service.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: header },
      body: JSON.stringify({ query: VIEWER }),
    });
    const body = (await response.json()) as any;
    expect(body.errors[0].extensions.code).toBe('UNAUTHENTICATED');
    expect(body.errors[0].message).toMatch(message);
  });

  it('answers UNAUTHENTICATED for a revoked key on every operation, including mutations', async () => {
    const created = (await clients.admin.data(CREATE_KEY, { role: 'ADMIN', name: 'to revoke' })).createApiKey;
    const client = graphqlClient(`${service.url}/graphql`, created.key);
    expect((await client.data(VIEWER)).viewer.apiKeyName).toBe('to revoke');
    await clients.admin.data(`mutation($id: ID!) { revokeApiKey(id: $id) { id } }`, { id: created.apiKey.id });
    for (const query of [VIEWER, `{ endpoints { edges { node { id } } } }`, `mutation { createEventType(input: { name: "revoked.key.try" }) { id } }`]) {
      const error = await client.error(query);
      expect(error.code).toBe('UNAUTHENTICATED');
      expect(error.message).toContain('revoked');
    }
    expect(await service.database.sql`SELECT id FROM event_types WHERE name = 'revoked.key.try'`).toHaveLength(0);
  });

  it('serves the JWKS without authentication (it is public)', async () => {
    const response = await fetch(`${service.url}/orgs/${service.orgId}/jwks.json`);
    expect(response.status).toBe(200);
    expect(response.headers.get('access-control-allow-origin')).toBe('*');
  });
});

describe('role rights', () => {
  // [operation, query, variables, roles allowed]
  const operations = (): [string, string, Record<string, unknown>, Role[]][] => [
    ['viewer', VIEWER, {}, ['admin', 'operator', 'publisher', 'viewer']],
    ['endpoints', `{ endpoints { edges { node { id } } } }`, {}, ['admin', 'operator', 'viewer']],
    ['endpoint', `query($id: ID!) { endpoint(id: $id) { id } }`, { id: endpointId }, ['admin', 'operator', 'viewer']],
    ['eventTypes', `{ eventTypes { edges { node { id } } } }`, {}, ['admin', 'operator', 'viewer']],
    ['signingKeys', `query($id: ID!) { signingKeys(endpointId: $id) { id } }`, { id: endpointId }, ['admin', 'operator', 'viewer']],
    ['apiKeys', `{ apiKeys { edges { node { id } } } }`, {}, ['admin']],
    [
      'updateEndpoint',
      `mutation($id: ID!) { updateEndpoint(id: $id, input: { description: "x" }) { id } }`,
      { id: endpointId },
      ['admin'],
    ],
    ['setEventSubscriptions', `mutation($id: ID!) { setEventSubscriptions(endpointId: $id, patterns: ["*"]) { id } }`, { id: endpointId }, ['admin']],
    ['pauseEndpoint', `mutation($id: ID!) { pauseEndpoint(id: $id) { id } }`, { id: endpointId }, ['admin', 'operator']],
    ['resumeEndpoint', `mutation($id: ID!) { resumeEndpoint(id: $id) { id } }`, { id: endpointId }, ['admin', 'operator']],
    [
      'rotateSigningKey',
      `mutation($id: ID!) { rotateSigningKey(endpointId: $id, gracePeriodSeconds: 3600) { signingKey { id } } }`,
      { id: endpointId },
      ['admin'],
    ],
    ['revokeSigningKey', `mutation($id: ID!) { revokeSigningKey(id: $id) { id } }`, { id: keyId }, ['admin']],
    ['deprecateEventType', `mutation($id: ID!) { deprecateEventType(id: $id) { id } }`, { id: customTypeId }, ['admin']],
  ];

  const roles: Role[] = ['admin', 'operator', 'publisher', 'viewer'];

  it.each(roles)('%s: allowed operations succeed, the others are FORBIDDEN naming the role needed', async (role) => {
    for (const [name, query, variables, allowed] of operations()) {
      const result = await clients[role].request(query, variables);
      const code = result.errors?.[0]?.extensions?.code;
      if (allowed.includes(role)) {
        // Allowed: no authorisation error (a business refusal such as "rotate first" is fine).
        expect(['FORBIDDEN', 'UNAUTHENTICATED', 'FEATURE_NOT_AVAILABLE'], `${role} ${name}`).not.toContain(code);
      } else {
        expect(code, `${role} ${name}`).toBe('FORBIDDEN');
        const needed = allowed.length === 1 ? 'admin' : allowed.includes('viewer') ? 'viewer or operator or admin' : 'operator or admin';
        expect(result.errors![0]!.message, `${role} ${name}`).toContain(`the ${role} role`);
        expect(result.errors![0]!.message, `${role} ${name}`).toContain(`Use a key with the ${needed} role`);
      }
    }
  });

  it('viewers see custom header values masked, never the secret', async () => {
    await clients.admin.data(`mutation($id: ID!) { updateEndpoint(id: $id, input: { headers: [{ name: "X-Token", value: "abc123" }] }) { id } }`, {
      id: endpointId,
    });
    const seen = await clients.viewer.data(`query($id: ID!) { endpoint(id: $id) { headers { name value } } }`, { id: endpointId });
    expect(seen.endpoint.headers).toEqual([{ name: 'X-Token', value: '••••' }]);
  });
});

describe('organization boundary', () => {
  it('a key only ever sees its own organization', async () => {
    const other = await service.services.organizations.createOrganization({ name: 'boundary-org', plan: 'enterprise' });
    const client = service.client(other.apiKey);
    expect((await client.data(VIEWER)).viewer.org.id).toBe(other.org.id);
    expect((await client.data(`{ endpoints { edges { node { id } } } }`)).endpoints.edges).toEqual([]);
    const types = (await client.data(`{ eventTypes(first: 500) { edges { node { name } } } }`)).eventTypes.edges.map((e: any) => e.node.name);
    expect(types).not.toContain('auth.check.done');
    for (const [query, variables] of [
      [`query($id: ID!) { endpoint(id: $id) { id } }`, { id: endpointId }],
      [`query($id: ID!) { signingKeys(endpointId: $id) { id } }`, { id: endpointId }],
      [`mutation($id: ID!) { pauseEndpoint(id: $id) { id } }`, { id: endpointId }],
      [`mutation($id: ID!) { revokeSigningKey(id: $id) { id } }`, { id: keyId }],
      [`mutation($id: ID!) { deprecateEventType(id: $id) { id } }`, { id: customTypeId }],
    ] as const) {
      expect((await client.error(query, variables)).code).toBe('NOT_FOUND');
    }
  });
});
