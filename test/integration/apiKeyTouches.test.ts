/**
 * API key use (last_used_at) is written for many keys in one statement, once a minute per key:
 * a platform publishing for thousands of organizations with their own keys made nearly every call
 * the first use of its key in a minute, and each was a write transaction of its own.
 */
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../server/logger.js';
import { createAuthenticator } from '../../server/services/auth.js';
import { createApiKeyTouches } from '../../server/services/apiKeyTouches.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { startTestService, type TestService } from '../helpers/service.js';

let database: TestDatabase;
let service: TestService;
let sql: postgres.Sql;
/** Statements that wrote last_used_at, as this test's own client sent them. */
let touchStatements = 0;
let stopped = false;
const keys: { orgId: string; key: string }[] = [];

beforeAll(async () => {
  database = await createTestDatabase();
  service = await startTestService({}, { database });
  for (let i = 0; i < 20; i++) {
    const made = await service.services.organizations.createOrganization({ name: `touch-${i}`, plan: 'enterprise' });
    keys.push({ orgId: made.org.id, key: made.apiKey });
  }
  sql = postgres(database.url, {
    max: 2,
    onnotice: () => {},
    debug: (_connection, query) => {
      if (/UPDATE api_keys SET last_used_at/.test(query)) touchStatements++;
    },
  });
});

afterAll(async () => {
  await sql?.end();
  if (!stopped) await service?.close();
  await database?.drop();
});

const lastUsed = async (orgIds: string[]) =>
  (await sql<{ last_used_at: Date | null }[]>`SELECT last_used_at FROM api_keys WHERE org_id = ANY(${orgIds}::text[])`).map((r) => r.last_used_at);

describe('API key use', () => {
  it('is written for twenty keys in one statement, and not again within the minute', async () => {
    const authenticate = createAuthenticator({ sql, log: createLogger('silent') });
    const orgIds = keys.map((k) => k.orgId);
    await sql`UPDATE api_keys SET last_used_at = NULL WHERE org_id = ANY(${orgIds}::text[])`;
    touchStatements = 0;
    for (const { orgId, key } of keys) expect((await authenticate(`Bearer ${key}`)).orgId).toBe(orgId);
    await authenticate.flushKeyUses();
    expect(touchStatements).toBe(1);
    expect((await lastUsed(orgIds)).every((at) => at instanceof Date)).toBe(true);

    // A second process (its own cache, so every key is looked up again) within the minute writes
    // nothing new; this one would not even look them up (cached).
    const again = createAuthenticator({ sql, log: createLogger('silent') });
    for (const { key } of keys) await again(`Bearer ${key}`);
    await again.flushKeyUses();
    expect(touchStatements).toBe(2);
    for (const { key } of keys) await again(`Bearer ${key}`);
    await again.flushKeyUses();
    expect(touchStatements).toBe(2);
  });

  it('writes on its own a second after the first use, and when the service stops', async () => {
    const touches = createApiKeyTouches({ sql, flushDelayMs: 50 });
    const [first, second] = keys;
    await sql`UPDATE api_keys SET last_used_at = NULL WHERE org_id IN (${first!.orgId}, ${second!.orgId})`;
    const firstKey = (await sql<{ id: string }[]>`SELECT id FROM api_keys WHERE org_id = ${first!.orgId}`)[0]!.id;
    touches.touch(firstKey, Date.now());
    touches.touch(firstKey, Date.now());
    expect(touches.pendingCount()).toBe(1);
    for (let i = 0; i < 100 && (await lastUsed([first!.orgId]))[0] === null; i++) await new Promise((r) => setTimeout(r, 20));
    expect((await lastUsed([first!.orgId]))[0]).toBeInstanceOf(Date);

    // The service's shutdown writes what is pending (nothing is left for a timer that never fires).
    await service.client(second!.key).data('{ viewer { role } }');
    expect((await lastUsed([second!.orgId]))[0]).toBeNull();
    await service.close();
    stopped = true;
    expect((await lastUsed([second!.orgId]))[0]).toBeInstanceOf(Date);
  });

  it('remembers a key written a minute ago as due again', () => {
    const touches = createApiKeyTouches({ sql, flushDelayMs: 60_000 });
    touches.touch('k1', 0);
    touches.touch('k1', 59_999);
    expect(touches.pendingCount()).toBe(1);
    void touches.flush();
    touches.touch('k1', 60_001);
    expect(touches.pendingCount()).toBe(1);
  });
});

describe('The verified-key cache', () => {
  it('lets the least recently used key go first, so a busy key stays cached past one-off keys', async () => {
    const authenticate = createAuthenticator({ sql, log: createLogger('silent'), cacheMax: 3 });
    const [busy, once1, once2, once3] = keys;
    for (const { key } of [busy!, once1!, once2!, busy!, once3!]) await authenticate(`Bearer ${key}`);
    // Revoked behind the cache's back (no notification): a cached key still passes, a looked-up one fails.
    const orgIds = [busy!.orgId, once1!.orgId];
    await sql`UPDATE api_keys SET revoked_at = now() WHERE org_id = ANY(${orgIds}::text[])`;
    try {
      expect((await authenticate(`Bearer ${busy!.key}`)).orgId).toBe(busy!.orgId);
      await expect(authenticate(`Bearer ${once1!.key}`)).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    } finally {
      await sql`UPDATE api_keys SET revoked_at = NULL WHERE org_id = ANY(${orgIds}::text[])`;
      await authenticate.flushKeyUses();
    }
  });
});
