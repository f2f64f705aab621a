import { and, arrayContains, arrayOverlaps, eq, inArray, isNull, sql } from 'drizzle-orm';
import type { DbOrTx } from '../client.js';
import { endpoints, eventSubscriptions, type EndpointRow } from '../schema.js';
import type { ObjectRef } from '../../domain/clientIds.js';
import { keyset, toPage, type Page, type PageArgs } from './pagination.js';

export interface EndpointFilter {
  label?: string | null;
  active?: boolean | null;
  /** Only endpoints carrying at least one of these labels (a label-scoped portal session). */
  anyLabels?: string[] | null;
}

/** Endpoints and their EventSubscription patterns. Deleted endpoints are invisible here. */
export function createEndpointsRepo(db: DbOrTx) {
  const live = (orgId: string) => and(eq(endpoints.orgId, orgId), isNull(endpoints.deletedAt));
  const named = (ref: ObjectRef) => (ref.by === 'id' ? eq(endpoints.id, ref.id) : ref.by === 'uid' ? eq(endpoints.uid, ref.uid) : sql`false`);

  return {
    async insert(row: typeof endpoints.$inferInsert, tx: DbOrTx = db): Promise<EndpointRow> {
      const [created] = await tx.insert(endpoints).values(row).returning();
      return created!;
    },
    async findForOrg(orgId: string, id: string, tx: DbOrTx = db): Promise<EndpointRow | null> {
      const [row] = await tx.select().from(endpoints).where(and(live(orgId), eq(endpoints.id, id)));
      return row ?? null;
    },
    /** Locks the endpoint row for the rest of the transaction (settings changes serialise). */
    async lockForOrg(orgId: string, id: string, tx: DbOrTx): Promise<EndpointRow | null> {
      const [row] = await tx.select().from(endpoints).where(and(live(orgId), eq(endpoints.id, id))).for('update');
      return row ?? null;
    },
    /** A live endpoint of the organization by id or uid (see domain/clientIds.ts). */
    async findByRef(orgId: string, ref: ObjectRef, tx: DbOrTx = db): Promise<EndpointRow | null> {
      if (ref.by === 'none') return null;
      const [row] = await tx.select().from(endpoints).where(and(live(orgId), named(ref)));
      return row ?? null;
    },
    /** Like findByRef, and locks the row for the rest of the transaction. */
    async lockByRef(orgId: string, ref: ObjectRef, tx: DbOrTx): Promise<EndpointRow | null> {
      if (ref.by === 'none') return null;
      const [row] = await tx.select().from(endpoints).where(and(live(orgId), named(ref))).for('update');
      return row ?? null;
    },
    /** Every live endpoint of the organization, oldest first (declarative configuration). */
    async liveForOrg(orgId: string, tx: DbOrTx = db): Promise<EndpointRow[]> {
      return tx.select().from(endpoints).where(live(orgId)).orderBy(endpoints.id);
    },
    /** Locks these live endpoints of the organization, in id order (so lockers never wait in a cycle). */
    async lockIds(orgId: string, ids: readonly string[], tx: DbOrTx): Promise<void> {
      if (ids.length === 0) return;
      await tx.select({ id: endpoints.id }).from(endpoints).where(and(live(orgId), inArray(endpoints.id, [...ids]))).orderBy(endpoints.id).for('update');
    },
    /** By id regardless of organization or deletion: for the engine and history views. */
    async findByIds(ids: readonly string[]): Promise<EndpointRow[]> {
      if (ids.length === 0) return [];
      return db.select().from(endpoints).where(inArray(endpoints.id, [...ids]));
    },
    async list(orgId: string, filter: EndpointFilter, args: PageArgs): Promise<Page<EndpointRow>> {
      const q = keyset(endpoints.id, args, [
        live(orgId),
        filter.label ? arrayContains(endpoints.labels, [filter.label]) : undefined,
        filter.active == null ? undefined : eq(endpoints.active, filter.active),
        filter.anyLabels ? arrayOverlaps(endpoints.labels, filter.anyLabels) : undefined,
      ]);
      const rows = await db.select().from(endpoints).where(q.where).orderBy(q.orderBy).limit(q.limit);
      return toPage(rows, args);
    },
    async update(id: string, values: Partial<typeof endpoints.$inferInsert>, tx: DbOrTx = db): Promise<EndpointRow> {
      const [row] = await tx
        .update(endpoints)
        .set({ ...values, updatedAt: sql`now()` })
        .where(eq(endpoints.id, id))
        .returning();
      return row!;
    },
    /** Ids of the organization's live endpoints (to tell workers about an org-wide key change). */
    async liveIdsForOrg(orgId: string, tx: DbOrTx = db): Promise<string[]> {
      const rows = await tx.select({ id: endpoints.id }).from(endpoints).where(live(orgId));
      return rows.map((r) => r.id);
    },
    /** Live endpoints of the organization that sign with `algorithm`. */
    async countSigningWith(orgId: string, algorithm: EndpointRow['signingAlgorithm'], tx: DbOrTx = db): Promise<number> {
      const [row] = await tx
        .select({ n: sql<number>`count(*)::int` })
        .from(endpoints)
        .where(and(live(orgId), eq(endpoints.signingAlgorithm, algorithm)));
      return row?.n ?? 0;
    },
    /** EventSubscription patterns by endpoint; with `orgId`, only of that organization's endpoints. */
    async patternsFor(endpointIds: readonly string[], options: { orgId?: string; tx?: DbOrTx } = {}): Promise<Map<string, string[]>> {
      const { orgId, tx = db } = options;
      const result = new Map<string, string[]>(endpointIds.map((id) => [id, []]));
      if (endpointIds.length === 0) return result;
      const byEndpoint = inArray(eventSubscriptions.endpointId, [...endpointIds]);
      const rows = await tx
        .select({ endpointId: eventSubscriptions.endpointId, pattern: eventSubscriptions.pattern })
        .from(eventSubscriptions)
        .where(
          orgId === undefined
            ? byEndpoint
            : and(byEndpoint, inArray(eventSubscriptions.endpointId, tx.select({ id: endpoints.id }).from(endpoints).where(and(eq(endpoints.orgId, orgId), inArray(endpoints.id, [...endpointIds]))))),
        )
        .orderBy(eventSubscriptions.pattern);
      for (const r of rows) result.get(r.endpointId)?.push(r.pattern);
      return result;
    },
    async replacePatterns(endpointId: string, patterns: string[], tx: DbOrTx): Promise<void> {
      await tx.delete(eventSubscriptions).where(eq(eventSubscriptions.endpointId, endpointId));
      if (patterns.length > 0) {
        await tx.insert(eventSubscriptions).values(patterns.map((pattern) => ({ endpointId, pattern })));
      }
    },
  };
}
export type EndpointsRepo = ReturnType<typeof createEndpointsRepo>;
