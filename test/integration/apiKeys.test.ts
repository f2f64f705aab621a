/** API keys: creation (shown once, stored as a hash, announced in the org's stream), listing, revocation. */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestService, type TestService } from '../helpers/service.js';
import type { GraphQLClient } from '../helpers/graphql.js';

const FIELDS = 'id name role keyPrefix createdAt lastUsedAt revokedAt';
const CREATE = `mutation($role: ApiKeyRole!, $name: String!) { createApiKey(role: $role, name: $name) { key apiKey { ${FIELDS} } } }`;
const REVOKE = `mutation($id: ID!) { revokeApiKey(id: $id) { ${FIELDS} } }`;
const LIST = `query($first: Int, $after: String) {
  apiKeys(first: $first, after: $after) { edges { node { ${FIELDS} } } pageInfo { hasNextPage endCursor } } }`;
const VIEWER = `{ viewer { role plan apiKeyId apiKeyName org { id name plan } } }`;

let service: TestService;
let admin: GraphQLClient;
let other: { orgId: string; client: GraphQLClient };

beforeAll(async () => {
  service = await startTestService();
  admin = service.client();
  const otherOrg = await service.services.organizations.createOrganization({ name: 'other-org', plan: 'enterprise' });
  other = { orgId: otherOrg.org.id, client: service.client(otherOrg.apiKey) };
});

afterAll(async () => {
  await service?.close();
});

const create = async (role: string, name: string, client: GraphQLClient = admin) =>
  (await client.data(CREATE, { role, name })).createApiKey as { key: string; apiKey: any };

// last_used_at is touched in the background on use, so it is left out of before/after comparisons.
const keyRows = () => service.database.sql`SELECT id, org_id, name, role, key_hash, key_prefix, created_at, revoked_at FROM api_keys ORDER BY id`;

describe('createApiKey', () => {
  it('returns the key once, stores only its hash, and the key works with its role', async () => {
    const { key, apiKey } = await create('OPERATOR', '  CI pipeline  ');
    expect(key).toMatch(/^whk_[A-Za-z0-9_-]{43}$/);
    expect(apiKey).toMatchObject({ name: 'CI pipeline', role: 'OPERATOR', keyPrefix: key.slice(0, 12), lastUsedAt: null, revokedAt: null });
    const [row] = await service.database.sql`SELECT * FROM api_keys WHERE id = ${apiKey.id}`;
    expect(row!.key_hash).toBe(createHash('sha256').update(key).digest('hex'));
    expect(JSON.stringify(row)).not.toContain(key.slice(12));

    const viewer = (await service.client(key).data(VIEWER)).viewer;
    expect(viewer).toEqual({
      role: 'OPERATOR',
      plan: 'enterprise',
      apiKeyId: apiKey.id,
      apiKeyName: 'CI pipeline',
      org: { id: service.orgId, name: 'default', plan: 'enterprise' },
    });
  });

  it('publishes security.api_key.created into the organization\'s own stream, without the key', async () => {
    const { key, apiKey } = await create('VIEWER', 'announced');
    const events = await service.database.sql`
      SELECT org_id, data FROM events WHERE type = 'security.api_key.created' AND data->>'apiKeyId' = ${apiKey.id}`;
    expect(events).toHaveLength(1);
    expect(events[0]!.org_id).toBe(service.orgId);
    expect(events[0]!.data).toMatchObject({ apiKeyId: apiKey.id, name: 'announced', role: 'viewer', keyPrefix: key.slice(0, 12) });
    expect(JSON.stringify(events[0]!.data)).not.toContain(key.slice(12));
    const [otherEvents] = await service.database.sql`SELECT count(*)::int AS n FROM events WHERE org_id = ${other.orgId} AND data->>'apiKeyId' = ${apiKey.id}`;
    expect(otherEvents!.n).toBe(0);
  });

  it.each([
    ['an empty name', 'ADMIN', '   ', 'BAD_USER_INPUT'],
    ['a name over 100 characters', 'ADMIN', 'x'.repeat(101), 'BAD_USER_INPUT'],
    ['an unknown role', 'ROOT', 'n', 'BAD_USER_INPUT'],
  ])('refuses %s and writes nothing', async (_what, role, name, code) => {
    const before = await keyRows();
    expect((await admin.error(CREATE, { role, name })).code).toBe(code);
    expect(await keyRows()).toEqual(before);
  });
});

describe('apiKeys', () => {
  it('lists the organization\'s keys newest first, with paging, never another org\'s', async () => {
    await create('VIEWER', 'list me 1');
    await create('VIEWER', 'list me 2');
    const { edges, pageInfo } = (await admin.data(LIST, { first: 500 })).apiKeys;
    const ids = edges.map((e: any) => e.node.id);
    expect([...ids].sort().reverse()).toEqual(ids);
    expect(edges[0].node.name).toBe('list me 2');
    expect(pageInfo.hasNextPage).toBe(false);
    expect(JSON.stringify(edges)).not.toMatch(/whk_[A-Za-z0-9_-]{20,}/);
    const theirIds = (await other.client.data(LIST, {})).apiKeys.edges.map((e: any) => e.node.id);
    expect(theirIds.some((id: string) => ids.includes(id))).toBe(false);
    const page = (await admin.data(LIST, { first: 1, after: ids[0] })).apiKeys;
    expect(page.edges.map((e: any) => e.node.id)).toEqual([ids[1]]);
  });
});

describe('revokeApiKey', () => {
  it('revokes at once: the key answers UNAUTHENTICATED from then on', async () => {
    const { key, apiKey } = await create('ADMIN', 'short-lived');
    expect((await service.client(key).data(VIEWER)).viewer.apiKeyId).toBe(apiKey.id);
    const revoked = (await admin.data(REVOKE, { id: apiKey.id })).revokeApiKey;
    expect(Date.parse(revoked.revokedAt)).toBeLessThanOrEqual(Date.now());
    const error = await service.client(key).error(VIEWER);
    expect(error.code).toBe('UNAUTHENTICATED');
    expect(error.message).toContain('revoked');
    expect((await admin.data(REVOKE, { id: apiKey.id })).revokeApiKey.revokedAt).toBe(revoked.revokedAt);
  });

  it('refuses to revoke the organization\'s last admin key', async () => {
    const fresh = await service.services.organizations.createOrganization({ name: 'solo-admin', plan: 'enterprise' });
    const client = service.client(fresh.apiKey);
    const me = (await client.data(VIEWER)).viewer;
    const error = await client.error(REVOKE, { id: me.apiKeyId });
    expect(error.code).toBe('BAD_USER_INPUT');
    expect(error.message).toContain('last admin key');
    expect((await client.data(VIEWER)).viewer.apiKeyId).toBe(me.apiKeyId);
  });

  it('answers NOT_FOUND for unknown and other organizations\' keys and leaves them working', async () => {
    const theirs = await create('VIEWER', 'theirs', other.client);
    const before = await keyRows();
    for (const id of [theirs.apiKey.id, 'key_01ARZ3NDEKTSV4RRFFQ69G5FAV', 'junk']) {
      expect((await admin.error(REVOKE, { id })).code).toBe('NOT_FOUND');
    }
    expect(await keyRows()).toEqual(before);
    expect((await service.client(theirs.key).data(VIEWER)).viewer.role).toBe('VIEWER');
  });
});

describe('roles and plans', () => {
  it.each(['OPERATOR', 'PUBLISHER', 'VIEWER'])('%s cannot list, create or revoke keys (FORBIDDEN naming the admin role)', async (role) => {
    const { key } = await create(role, `${role} key`);
    const { apiKey: target } = await create('VIEWER', 'target');
    const client = service.client(key);
    const before = await keyRows();
    for (const [query, variables] of [
      [LIST, {}],
      [CREATE, { role: 'ADMIN', name: 'escalate' }],
      [REVOKE, { id: target.id }],
    ] as const) {
      const error = await client.error(query, variables);
      expect(error.code).toBe('FORBIDDEN');
      expect(error.message).toContain(`${role.toLowerCase()} role`);
      expect(error.message).toContain('admin role');
    }
    expect(await keyRows()).toEqual(before);
  });

  it('professional organizations manage their API keys too (not a webhook setting)', async () => {
    const pro = await service.services.organizations.createOrganization({ name: 'pro-org', plan: 'professional' });
    const created = (await service.client(pro.apiKey).data(CREATE, { role: 'PUBLISHER', name: 'platform' })).createApiKey;
    expect(created.apiKey.role).toBe('PUBLISHER');
  });
});
