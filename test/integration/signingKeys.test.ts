/**
 * Signing keys (HMAC per endpoint, Ed25519 per organization): listing, rotation with grace
 * periods, revocation, the JWKS, and a scan proving no secret is ever stored in clear.
 */
import { sign, createPrivateKey, createPublicKey, verify } from 'node:crypto';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSecretBox } from '../../server/crypto/secretBox.js';
import { decodeHmacSecret } from '../../server/domain/signing.js';
import { getTestCertificates } from '../helpers/certs.js';
import { startTestService, type TestService } from '../helpers/service.js';
import type { GraphQLClient } from '../helpers/graphql.js';

const KEY_FIELDS = 'id algorithm publicKey endpointId createdAt expiresAt revokedAt usable';
const CREATE = `mutation($input: CreateEndpointInput!) {
  createEndpoint(input: $input) { secret endpoint { id signingAlgorithm } } }`;
const LIST = `query($endpointId: ID!) { signingKeys(endpointId: $endpointId) { ${KEY_FIELDS} } }`;
const ROTATE = `mutation($endpointId: ID!, $algorithm: SigningAlgorithm, $gracePeriodSeconds: Int) {
  rotateSigningKey(endpointId: $endpointId, algorithm: $algorithm, gracePeriodSeconds: $gracePeriodSeconds) {
    secret signingKey { ${KEY_FIELDS} } } }`;
const REVOKE = `mutation($id: ID!) { revokeSigningKey(id: $id) { ${KEY_FIELDS} } }`;
const ENDPOINT = `query($id: ID!) { endpoint(id: $id) { id signingAlgorithm } }`;
const CREATE_KEY = `mutation($role: ApiKeyRole!, $name: String!) { createApiKey(role: $role, name: $name) { key } }`;

let service: TestService;
let admin: GraphQLClient;
let keys: Record<'operator' | 'publisher' | 'viewer', string>;
let other: { orgId: string; client: GraphQLClient; apiKey: string };
let professional: GraphQLClient;

/** Every secret the API handed out in this file, for the at-rest scan at the end. */
const handedOut: string[] = [];

beforeAll(async () => {
  service = await startTestService();
  admin = service.client();
  handedOut.push(service.adminKey);
  keys = {
    operator: (await admin.data(CREATE_KEY, { role: 'OPERATOR', name: 'ops' })).createApiKey.key,
    publisher: (await admin.data(CREATE_KEY, { role: 'PUBLISHER', name: 'pub' })).createApiKey.key,
    viewer: (await admin.data(CREATE_KEY, { role: 'VIEWER', name: 'view' })).createApiKey.key,
  };
  handedOut.push(...Object.values(keys));
  const otherOrg = await service.services.organizations.createOrganization({ name: 'other-org', plan: 'enterprise' });
  other = { orgId: otherOrg.org.id, client: service.client(otherOrg.apiKey), apiKey: otherOrg.apiKey };
  const pro = await service.services.organizations.createOrganization({ name: 'pro-org', plan: 'professional' });
  professional = service.client(pro.apiKey);
  handedOut.push(otherOrg.apiKey, pro.apiKey);
});

afterAll(async () => {
  await service?.close();
});

async function createEndpoint(input: Record<string, unknown> = {}, client: GraphQLClient = admin) {
  const result = (await client.data(CREATE, { input: { url: 'https://hooks.example.com/keys', ...input } })).createEndpoint;
  if (result.secret) handedOut.push(result.secret);
  return result as { secret: string | null; endpoint: { id: string; signingAlgorithm: string } };
}

async function rotate(endpointId: string, algorithm?: string, gracePeriodSeconds?: number, client: GraphQLClient = admin) {
  const result = (await client.data(ROTATE, { endpointId, algorithm, gracePeriodSeconds })).rotateSigningKey;
  if (result.secret) handedOut.push(result.secret);
  return result as { secret: string | null; signingKey: any };
}

const list = async (endpointId: string, client: GraphQLClient = admin) => (await client.data(LIST, { endpointId })).signingKeys as any[];

async function keyTable() {
  return service.database.sql`SELECT * FROM signing_keys ORDER BY id`;
}

async function jwks(orgId: string): Promise<{ status: number; body: any; cacheControl: string | null }> {
  const response = await fetch(`${service.url}/orgs/${orgId}/jwks.json`);
  return { status: response.status, body: await response.json(), cacheControl: response.headers.get('cache-control') };
}

/** The secret bytes the worker would sign with (opened with the service's master key). */
async function openSealed(keyId: string): Promise<Buffer> {
  const box = createSecretBox(service.config.masterKey!);
  const [row] = await service.database.sql`SELECT secret_sealed FROM signing_keys WHERE id = ${keyId}`;
  return box.open(row!.secret_sealed);
}

describe('signingKeys', () => {
  it('lists the HMAC key an endpoint was created with', async () => {
    const { endpoint, secret } = await createEndpoint();
    const listed = await list(endpoint.id);
    expect(listed).toEqual([
      {
        id: expect.stringMatching(/^sk_/),
        algorithm: 'HMAC_SHA256',
        publicKey: null,
        endpointId: endpoint.id,
        createdAt: expect.any(String),
        expiresAt: null,
        revokedAt: null,
        usable: true,
      },
    ]);
    // The stored value opens to exactly the secret returned once.
    expect(decodeHmacSecret((await openSealed(listed[0].id)).toString('utf8'))).toEqual(decodeHmacSecret(secret!));
  });

  it('is readable by viewers and operators, not publishers', async () => {
    const { endpoint } = await createEndpoint();
    for (const role of ['viewer', 'operator'] as const) expect(await list(endpoint.id, service.client(keys[role]))).toHaveLength(1);
    const error = await service.client(keys.publisher).error(LIST, { endpointId: endpoint.id });
    expect(error.code).toBe('FORBIDDEN');
  });

  it('answers NOT_FOUND for unknown and other organizations\' endpoints', async () => {
    const { endpoint } = await createEndpoint({}, other.client);
    for (const id of [endpoint.id, 'ep_01ARZ3NDEKTSV4RRFFQ69G5FAV', 'junk']) {
      expect((await admin.error(LIST, { endpointId: id })).code).toBe('NOT_FOUND');
    }
  });
});

describe('rotateSigningKey (HMAC)', () => {
  it('issues a new secret; the old key signs on for the grace period', async () => {
    const { endpoint, secret: first } = await createEndpoint();
    const [original] = await list(endpoint.id);
    const changed = postgres(service.testDatabase.url, { max: 1, onnotice: () => {} });
    const notes: string[] = [];
    await changed.listen('webhooks_endpoint_changed', (p) => notes.push(p));
    try {
      const before = Date.now();
      const { secret, signingKey } = await rotate(endpoint.id);
      expect(secret).toMatch(/^whsec_/);
      expect(secret).not.toBe(first);
      expect(signingKey).toMatchObject({ algorithm: 'HMAC_SHA256', endpointId: endpoint.id, expiresAt: null, usable: true });
      const listed = await list(endpoint.id);
      expect(listed.map((k) => k.id)).toEqual([signingKey.id, original.id]);
      const expiresAt = Date.parse(listed[1].expiresAt);
      expect(expiresAt).toBeGreaterThanOrEqual(before + 86_400_000 - 5_000);
      expect(expiresAt).toBeLessThanOrEqual(Date.now() + 86_400_000 + 5_000);
      expect(listed[1].usable).toBe(true);
      await expect.poll(() => notes.some((n) => n.includes(endpoint.id))).toBe(true);
    } finally {
      await changed.end({ timeout: 1 });
    }
  });

  it('with gracePeriodSeconds 0 stops the old key at once', async () => {
    const { endpoint } = await createEndpoint();
    const [original] = await list(endpoint.id);
    await rotate(endpoint.id, 'HMAC_SHA256', 0);
    const old = (await list(endpoint.id)).find((k) => k.id === original.id);
    expect(old.usable).toBe(false);
    expect(Date.parse(old.expiresAt)).toBeLessThanOrEqual(Date.now());
  });

  it('a second rotation never extends an earlier grace period', async () => {
    const { endpoint } = await createEndpoint();
    const [original] = await list(endpoint.id);
    await rotate(endpoint.id, 'HMAC_SHA256', 60);
    const firstExpiry = (await list(endpoint.id)).find((k) => k.id === original.id).expiresAt;
    await rotate(endpoint.id, 'HMAC_SHA256', 3600);
    expect((await list(endpoint.id)).find((k) => k.id === original.id).expiresAt).toBe(firstExpiry);
  });

  it.each([-1, 2_592_001])('refuses gracePeriodSeconds %d and writes nothing', async (grace) => {
    const { endpoint } = await createEndpoint();
    const before = await keyTable();
    const error = await admin.error(ROTATE, { endpointId: endpoint.id, gracePeriodSeconds: grace });
    expect(error.code).toBe('BAD_USER_INPUT');
    expect(error.extensions.field).toBe('gracePeriodSeconds');
    expect(error.message).toContain('2592000');
    expect(await keyTable()).toEqual(before);
  });

  it('accepts the 30-day maximum', async () => {
    const { endpoint } = await createEndpoint();
    await rotate(endpoint.id, 'HMAC_SHA256', 2_592_000);
  });
});

describe('Ed25519', () => {
  it('switching an HMAC endpoint uses the organization key, which the JWKS publishes', async () => {
    const { endpoint } = await createEndpoint();
    const [hmac] = await list(endpoint.id);
    const { secret, signingKey } = await rotate(endpoint.id, 'ED25519');
    expect(secret).toBeNull();
    expect(signingKey).toMatchObject({ algorithm: 'ED25519', endpointId: null, usable: true });
    expect(signingKey.publicKey).toMatch(/^whpk_[A-Za-z0-9+/]{43}=$/);
    expect((await admin.data(ENDPOINT, { id: endpoint.id })).endpoint.signingAlgorithm).toBe('ED25519');

    const listed = await list(endpoint.id);
    expect(listed.map((k) => k.id)).toContain(signingKey.id);
    expect(listed.find((k) => k.id === hmac.id).expiresAt).not.toBeNull();

    const published = await jwks(service.orgId);
    expect(published.status).toBe(200);
    expect(published.cacheControl).toContain('max-age');
    const jwk = published.body.keys.find((k: any) => k.kid === signingKey.id);
    expect(jwk).toEqual({ kty: 'OKP', crv: 'Ed25519', x: expect.any(String), kid: signingKey.id, use: 'sig', alg: 'EdDSA' });
    expect(Buffer.from(jwk.x, 'base64url')).toEqual(Buffer.from(signingKey.publicKey.slice(5), 'base64'));

    // The sealed seed is the private half of the published key.
    const seed = await openSealed(signingKey.id);
    const privateKey = createPrivateKey({ key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]), format: 'der', type: 'pkcs8' });
    const signature = sign(null, Buffer.from('msg'), privateKey);
    expect(verify(null, Buffer.from('msg'), createPublicKey({ key: jwk, format: 'jwk' }), signature)).toBe(true);
  });

  it('rotating on an Ed25519 endpoint rotates the organization key for every Ed25519 endpoint', async () => {
    const a = await createEndpoint({ signingAlgorithm: 'ED25519' });
    const b = await createEndpoint({ signingAlgorithm: 'ED25519' });
    const hmacOnly = await createEndpoint();
    const [current] = (await list(a.endpoint.id)).filter((k) => k.usable && k.expiresAt === null);
    const changed = postgres(service.testDatabase.url, { max: 1, onnotice: () => {} });
    const notes: string[] = [];
    await changed.listen('webhooks_endpoint_changed', (p) => notes.push(p));
    try {
      const { signingKey, secret } = await rotate(a.endpoint.id, 'ED25519', 600);
      expect(secret).toBeNull();
      expect(signingKey.id).not.toBe(current.id);
      for (const id of [a.endpoint.id, b.endpoint.id]) {
        const listed = await list(id);
        expect(listed.find((k) => k.id === signingKey.id)).toMatchObject({ expiresAt: null, usable: true });
        const old = listed.find((k) => k.id === current.id);
        expect(old.usable).toBe(true);
        expect(Date.parse(old.expiresAt)).toBeGreaterThan(Date.now() + 500_000);
      }
      expect((await list(hmacOnly.endpoint.id)).every((k) => k.algorithm === 'HMAC_SHA256')).toBe(true);
      const kids = (await jwks(service.orgId)).body.keys.map((k: any) => k.kid);
      expect(kids).toEqual(expect.arrayContaining([signingKey.id, current.id]));
      await expect.poll(() => [a, b, hmacOnly].every((e) => notes.some((n) => n.includes(e.endpoint.id)))).toBe(true);
    } finally {
      await changed.end({ timeout: 1 });
    }
  });

  it('switching back to HMAC keeps the Ed25519 keys listed during the grace period only', async () => {
    const { endpoint } = await createEndpoint({ signingAlgorithm: 'ED25519' });
    const { secret } = await rotate(endpoint.id, 'HMAC_SHA256', 600);
    expect(secret).toMatch(/^whsec_/);
    expect((await admin.data(ENDPOINT, { id: endpoint.id })).endpoint.signingAlgorithm).toBe('HMAC_SHA256');
    const [row] = await service.database.sql`SELECT ed25519_grace_until FROM endpoints WHERE id = ${endpoint.id}`;
    expect(row!.ed25519_grace_until.getTime()).toBeGreaterThan(Date.now() + 500_000);
    expect((await list(endpoint.id)).some((k) => k.algorithm === 'ED25519')).toBe(true);

    const { endpoint: quick } = await createEndpoint({ signingAlgorithm: 'ED25519' });
    await rotate(quick.id, 'HMAC_SHA256', 0);
    expect((await list(quick.id)).map((k) => k.algorithm)).toEqual(['HMAC_SHA256']);
  });

  it('the JWKS is empty for an organization without Ed25519 keys and 404 for an unknown one', async () => {
    expect(await jwks(other.orgId)).toMatchObject({ status: 200, body: { keys: [] } });
    expect((await jwks('org_01ARZ3NDEKTSV4RRFFQ69G5FAV')).status).toBe(404);
    expect((await jwks('nonsense')).status).toBe(404);
  });
});

describe('revokeSigningKey', () => {
  it('refuses to revoke the key an endpoint signs with ("rotate first") and writes nothing', async () => {
    const { endpoint } = await createEndpoint();
    const [only] = await list(endpoint.id);
    const before = await keyTable();
    const error = await admin.error(REVOKE, { id: only.id });
    expect(error.code).toBe('BAD_USER_INPUT');
    expect(error.message).toContain('Rotate first');
    expect(await keyTable()).toEqual(before);
  });

  it('revokes a key in its grace period at once, idempotently', async () => {
    const { endpoint } = await createEndpoint();
    const [original] = await list(endpoint.id);
    const { signingKey } = await rotate(endpoint.id);
    const revoked = (await admin.data(REVOKE, { id: original.id })).revokeSigningKey;
    expect(revoked).toMatchObject({ id: original.id, usable: false });
    expect(Date.parse(revoked.revokedAt)).toBeLessThanOrEqual(Date.now());
    expect((await admin.data(REVOKE, { id: original.id })).revokeSigningKey.revokedAt).toBe(revoked.revokedAt);
    // The new key is now the only one: it cannot be revoked.
    expect((await admin.error(REVOKE, { id: signingKey.id })).code).toBe('BAD_USER_INPUT');
    const [usable] = await service.database.sql`
      SELECT count(*)::int AS n FROM signing_keys WHERE endpoint_id = ${endpoint.id} AND revoked_at IS NULL
        AND (expires_at IS NULL OR expires_at > now())`;
    expect(usable!.n).toBe(1);
  });

  it('refuses to revoke the organization\'s current Ed25519 key while endpoints use it; revokes older ones and drops them from the JWKS', async () => {
    const { endpoint } = await createEndpoint({ signingAlgorithm: 'ED25519' });
    const current = (await list(endpoint.id)).find((k) => k.algorithm === 'ED25519' && k.expiresAt === null && k.usable);
    const error = await admin.error(REVOKE, { id: current.id });
    expect(error.code).toBe('BAD_USER_INPUT');
    expect(error.message).toMatch(/endpoints?; revoking it/);
    expect(error.message).toContain('Rotate first');

    const { signingKey: next } = await rotate(endpoint.id, 'ED25519');
    await admin.data(REVOKE, { id: current.id });
    const kids = (await jwks(service.orgId)).body.keys.map((k: any) => k.kid);
    expect(kids).toContain(next.id);
    expect(kids).not.toContain(current.id);
  });

  it('may revoke an HMAC key an Ed25519 endpoint no longer signs with', async () => {
    const { endpoint } = await createEndpoint();
    const [hmac] = await list(endpoint.id);
    await rotate(endpoint.id, 'ED25519');
    expect((await admin.data(REVOKE, { id: hmac.id })).revokeSigningKey.usable).toBe(false);
  });

  it('answers NOT_FOUND for unknown and other organizations\' keys and leaves them as they were', async () => {
    const { endpoint } = await createEndpoint({}, other.client);
    await rotate(endpoint.id, 'HMAC_SHA256', 600, other.client);
    const theirs = await list(endpoint.id, other.client);
    const before = await keyTable();
    for (const id of [theirs[0].id, theirs[1].id, 'sk_01ARZ3NDEKTSV4RRFFQ69G5FAV', 'junk']) {
      const error = await admin.error(REVOKE, { id });
      expect(error.code).toBe('NOT_FOUND');
    }
    expect((await admin.error(ROTATE, { endpointId: endpoint.id })).code).toBe('NOT_FOUND');
    expect((await admin.error(ROTATE, { endpointId: endpoint.id, algorithm: 'ED25519' })).code).toBe('NOT_FOUND');
    expect(await keyTable()).toEqual(before);
    expect(await list(endpoint.id, other.client)).toEqual(theirs);
  });
});

describe('roles and plans', () => {
  it.each(['operator', 'publisher', 'viewer'] as const)('%s cannot rotate or revoke (FORBIDDEN naming the admin role)', async (role) => {
    const { endpoint } = await createEndpoint();
    const [key] = await list(endpoint.id);
    const before = await keyTable();
    for (const [query, variables] of [
      [ROTATE, { endpointId: endpoint.id }],
      [REVOKE, { id: key.id }],
    ] as const) {
      const error = await service.client(keys[role]).error(query, variables);
      expect(error.code).toBe('FORBIDDEN');
      expect(error.message).toContain('admin role');
    }
    expect(await keyTable()).toEqual(before);
  });

  it('professional organizations get FEATURE_NOT_AVAILABLE', async () => {
    const { endpoint } = await createEndpoint();
    const [key] = await list(endpoint.id);
    const before = await keyTable();
    expect((await professional.error(ROTATE, { endpointId: endpoint.id })).code).toBe('FEATURE_NOT_AVAILABLE');
    expect((await professional.error(REVOKE, { id: key.id })).code).toBe('FEATURE_NOT_AVAILABLE');
    expect(await keyTable()).toEqual(before);
  });
});

describe('secrets at rest', () => {
  it('no text or jsonb column of any table holds a secret, seed, mTLS key or API key in clear', async () => {
    const certs = await getTestCertificates();
    const mtls = await createEndpoint({
      tls: { clientCertificatePem: certs.clientCertPem, clientKeyPem: certs.clientKeyPem },
      headers: [{ name: 'X-Note', value: 'not a secret' }],
    });
    expect(mtls.endpoint.id).toMatch(/^ep_/);
    const newKey = (await admin.data(CREATE_KEY, { role: 'ADMIN', name: 'second admin' })).createApiKey.key;
    handedOut.push(newKey);

    // Ed25519 seeds never leave the server: open them with the master key to know what to look for.
    const box = createSecretBox(service.config.masterKey!);
    const seeds = (await service.database.sql`SELECT secret_sealed FROM signing_keys WHERE algorithm = 'ED25519'`).map((r) =>
      box.open(r.secret_sealed),
    );
    expect(seeds.length).toBeGreaterThan(0);

    const keyBody = certs.clientKeyPem
      .split('\n')
      .filter((line) => line && !line.startsWith('-----'))
      .join('');
    const needles = new Set<string>();
    for (const secret of handedOut) {
      needles.add(secret);
      if (secret.startsWith('whsec_')) {
        needles.add(secret.slice(6));
        needles.add(Buffer.from(secret.slice(6), 'base64').toString('hex'));
      }
      if (secret.startsWith('whk_')) needles.add(secret.slice(4));
    }
    for (const seed of seeds) {
      needles.add(seed.toString('base64'));
      needles.add(seed.toString('base64url'));
      needles.add(seed.toString('hex'));
    }
    needles.add(keyBody.slice(0, 48));
    needles.add(keyBody.slice(-48));
    expect(handedOut.filter((s) => s.startsWith('whsec_')).length).toBeGreaterThan(10);
    expect(handedOut.filter((s) => s.startsWith('whk_')).length).toBeGreaterThanOrEqual(6);

    const sql = service.database.sql;
    const columns = await sql<{ table_schema: string; table_name: string; column_name: string }[]>`
      SELECT c.table_schema, c.table_name, c.column_name
      FROM information_schema.columns c
      JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
      WHERE c.table_schema NOT IN ('pg_catalog', 'information_schema') AND t.table_type = 'BASE TABLE'
        AND (c.data_type IN ('text', 'character varying', 'character', 'json', 'jsonb', 'bytea') OR c.udt_name IN ('_text', '_varchar'))`;
    const scanned = new Set(columns.map((c) => `${c.table_name}.${c.column_name}`));
    for (const expected of ['signing_keys.secret_sealed', 'endpoints.tls_client_key_sealed', 'endpoints.headers', 'api_keys.key_hash', 'events.data']) {
      expect(scanned).toContain(expected);
    }
    const leaks: string[] = [];
    for (const c of columns) {
      const rows = await sql.unsafe(`SELECT "${c.column_name}"::text AS v FROM "${c.table_schema}"."${c.table_name}"`);
      for (const { v } of rows) {
        if (v == null) continue;
        for (const needle of needles) if ((v as string).includes(needle)) leaks.push(`${c.table_schema}.${c.table_name}.${c.column_name}`);
      }
    }
    expect(leaks).toEqual([]);
  });
});
