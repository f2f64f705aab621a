import { and, desc, eq, gt, isNull, or, sql } from 'drizzle-orm';
import type { DbOrTx } from '../client.js';
import { signingKeys, type SigningKeyRow } from '../schema.js';

/** HMAC keys (per endpoint) and Ed25519 keys (per organization, endpoint_id null). */
export function createSigningKeysRepo(db: DbOrTx) {
  const usable = or(isNull(signingKeys.expiresAt), gt(signingKeys.expiresAt, sql`now()`));

  return {
    async insert(row: typeof signingKeys.$inferInsert, tx: DbOrTx = db): Promise<SigningKeyRow> {
      const [created] = await tx.insert(signingKeys).values(row).returning();
      return created!;
    },
    async findForOrg(orgId: string, id: string, tx: DbOrTx = db): Promise<SigningKeyRow | null> {
      const [row] = await tx.select().from(signingKeys).where(and(eq(signingKeys.orgId, orgId), eq(signingKeys.id, id)));
      return row ?? null;
    },
    /** Every HMAC key of an endpoint, newest first (including expired and revoked ones). */
    async listHmacForEndpoint(endpointId: string, tx: DbOrTx = db): Promise<SigningKeyRow[]> {
      return tx
        .select()
        .from(signingKeys)
        .where(and(eq(signingKeys.endpointId, endpointId), eq(signingKeys.algorithm, 'HMAC_SHA256')))
        .orderBy(desc(signingKeys.id));
    },
    /** Every Ed25519 key of an organization, newest first. */
    async listEd25519ForOrg(orgId: string, tx: DbOrTx = db): Promise<SigningKeyRow[]> {
      return tx
        .select()
        .from(signingKeys)
        .where(and(eq(signingKeys.orgId, orgId), isNull(signingKeys.endpointId), eq(signingKeys.algorithm, 'ED25519')))
        .orderBy(desc(signingKeys.id));
    },
    /** Keys that sign right now: not revoked and not past a rotation's grace period. */
    async usableHmacForEndpoint(endpointId: string, tx: DbOrTx = db): Promise<SigningKeyRow[]> {
      return tx
        .select()
        .from(signingKeys)
        .where(and(eq(signingKeys.endpointId, endpointId), eq(signingKeys.algorithm, 'HMAC_SHA256'), isNull(signingKeys.revokedAt), usable))
        .orderBy(desc(signingKeys.id));
    },
    async usableEd25519ForOrg(orgId: string, tx: DbOrTx = db): Promise<SigningKeyRow[]> {
      return tx
        .select()
        .from(signingKeys)
        .where(and(eq(signingKeys.orgId, orgId), isNull(signingKeys.endpointId), eq(signingKeys.algorithm, 'ED25519'), isNull(signingKeys.revokedAt), usable))
        .orderBy(desc(signingKeys.id));
    },
    /** Starts the grace period of every usable key in the set: they stop signing at `until`. */
    async expireUsable(where: { endpointId: string } | { orgId: string }, until: Date, tx: DbOrTx): Promise<void> {
      const scope =
        'endpointId' in where
          ? and(eq(signingKeys.endpointId, where.endpointId), eq(signingKeys.algorithm, 'HMAC_SHA256'))
          : and(eq(signingKeys.orgId, where.orgId), isNull(signingKeys.endpointId), eq(signingKeys.algorithm, 'ED25519'));
      // drizzle passes raw Date parameters through as Date#toString(), which Postgres cannot read.
      const at = sql`${until.toISOString()}::timestamptz`;
      await tx
        .update(signingKeys)
        .set({ expiresAt: sql`LEAST(COALESCE(${signingKeys.expiresAt}, ${at}), ${at})` })
        .where(and(scope, isNull(signingKeys.revokedAt), usable));
    },
    async revoke(id: string, tx: DbOrTx): Promise<SigningKeyRow> {
      const [row] = await tx
        .update(signingKeys)
        .set({ revokedAt: sql`COALESCE(${signingKeys.revokedAt}, now())` })
        .where(eq(signingKeys.id, id))
        .returning();
      return row!;
    },
  };
}
export type SigningKeysRepo = ReturnType<typeof createSigningKeysRepo>;
