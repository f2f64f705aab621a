import { and, eq, isNull, sql } from 'drizzle-orm';
import type { Sql } from 'postgres';
import type { DbOrTx } from '../client.js';
import { apiKeys, type ApiKeyRow, type Organization } from '../schema.js';
import { keyset, toPage, type Page, type PageArgs } from './pagination.js';

/**
 * The key with this hash and its organization: the authentication lookup, in plain postgres.js
 * because it runs on every request that misses the cache, and drizzle's query building costs
 * more than the query.
 */
export function findApiKeyByHash(sql: Sql, keyHash: string): Promise<{ key: ApiKeyRow; org: Organization } | null> {
  return findApiKeyWhere(sql, 'key_hash', keyHash);
}

/** The key with this id and its organization (for credentials that name a key rather than carry it: export links). */
export function findApiKeyById(sql: Sql, id: string): Promise<{ key: ApiKeyRow; org: Organization } | null> {
  return findApiKeyWhere(sql, 'id', id);
}

async function findApiKeyWhere(sql: Sql, column: 'key_hash' | 'id', value: string): Promise<{ key: ApiKeyRow; org: Organization } | null> {
  const [row] = await sql<(ApiKeyRow & { orgName: string; orgPlan: Organization['plan']; orgCreatedAt: Date })[]>`
    SELECT k.id, k.org_id AS "orgId", k.name, k.role, k.key_hash AS "keyHash", k.key_prefix AS "keyPrefix",
           k.created_at AS "createdAt", k.last_used_at AS "lastUsedAt", k.revoked_at AS "revokedAt",
           o.name AS "orgName", o.plan AS "orgPlan", o.created_at AS "orgCreatedAt"
    FROM api_keys k JOIN organizations o ON o.id = k.org_id
    WHERE ${sql(`k.${column}`)} = ${value}`;
  if (!row) return null;
  const { orgName, orgPlan, orgCreatedAt, ...key } = row;
  return { key, org: { id: key.orgId, name: orgName, plan: orgPlan, createdAt: orgCreatedAt } };
}

/** API keys are stored as SHA-256 hashes; the plaintext exists only in the creation answer. */
export function createApiKeysRepo(db: DbOrTx) {
  return {
    async insert(row: typeof apiKeys.$inferInsert, tx: DbOrTx = db): Promise<ApiKeyRow> {
      const [created] = await tx.insert(apiKeys).values(row).returning();
      return created!;
    },
    async findForOrg(orgId: string, id: string): Promise<ApiKeyRow | null> {
      const [row] = await db.select().from(apiKeys).where(and(eq(apiKeys.orgId, orgId), eq(apiKeys.id, id)));
      return row ?? null;
    },
    async list(orgId: string, args: PageArgs): Promise<Page<ApiKeyRow>> {
      const q = keyset(apiKeys.id, args, [eq(apiKeys.orgId, orgId)]);
      const rows = await db.select().from(apiKeys).where(q.where).orderBy(q.orderBy).limit(q.limit);
      return toPage(rows, args);
    },
    async revoke(orgId: string, id: string, tx: DbOrTx = db): Promise<ApiKeyRow | null> {
      const [row] = await tx
        .update(apiKeys)
        .set({ revokedAt: sql`COALESCE(${apiKeys.revokedAt}, now())` })
        .where(and(eq(apiKeys.orgId, orgId), eq(apiKeys.id, id)))
        .returning();
      return row ?? null;
    },
    async countActiveAdmins(orgId: string, tx: DbOrTx = db): Promise<number> {
      const [row] = await tx
        .select({ n: sql<number>`count(*)::int` })
        .from(apiKeys)
        .where(and(eq(apiKeys.orgId, orgId), eq(apiKeys.role, 'admin'), isNull(apiKeys.revokedAt)));
      return row?.n ?? 0;
    },
  };
}
export type ApiKeysRepo = ReturnType<typeof createApiKeysRepo>;
