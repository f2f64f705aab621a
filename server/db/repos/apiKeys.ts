import { and, eq, isNull, sql } from 'drizzle-orm';
import type { DbOrTx } from '../client.js';
import { apiKeys, organizations, type ApiKeyRow, type Organization } from '../schema.js';
import { keyset, toPage, type Page, type PageArgs } from './pagination.js';

/** API keys are stored as SHA-256 hashes; the plaintext exists only in the creation answer. */
export function createApiKeysRepo(db: DbOrTx) {
  return {
    async insert(row: typeof apiKeys.$inferInsert, tx: DbOrTx = db): Promise<ApiKeyRow> {
      const [created] = await tx.insert(apiKeys).values(row).returning();
      return created!;
    },
    /** The key and its organization for an authentication attempt. */
    async findByHash(keyHash: string): Promise<{ key: ApiKeyRow; org: Organization } | null> {
      const [row] = await db
        .select({ key: apiKeys, org: organizations })
        .from(apiKeys)
        .innerJoin(organizations, eq(organizations.id, apiKeys.orgId))
        .where(eq(apiKeys.keyHash, keyHash));
      return row ?? null;
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
    async touchLastUsed(id: string): Promise<void> {
      await db.update(apiKeys).set({ lastUsedAt: sql`now()` }).where(eq(apiKeys.id, id));
    },
  };
}
export type ApiKeysRepo = ReturnType<typeof createApiKeysRepo>;
