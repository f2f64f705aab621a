import { and, asc, desc, eq, gte, inArray, lt, sql } from 'drizzle-orm';
import type { DbOrTx } from '../client.js';
import { deliveries, deliveryAttempts, type AttemptRow, type DeliveryRow } from '../schema.js';
import { idLowerBound } from '../../domain/ids.js';
import { keyset, toPage, type Page, type PageArgs } from './pagination.js';

export interface DeliveryFilter {
  endpointId?: string | null;
  eventId?: string | null;
  statuses?: DeliveryRow['status'][] | null;
  eventType?: string | null;
  since?: Date | null;
  until?: Date | null;
  /** Only deliveries to these endpoints (a label-scoped portal session's). */
  endpointIds?: string[] | null;
}

/** Deliveries and their attempts (reads; the engine writes them). */
export function createDeliveriesRepo(db: DbOrTx) {
  return {
    async findForOrg(orgId: string, id: string): Promise<DeliveryRow | null> {
      const [row] = await db.select().from(deliveries).where(and(eq(deliveries.orgId, orgId), eq(deliveries.id, id)));
      return row ?? null;
    },
    async findByIds(ids: readonly string[]): Promise<DeliveryRow[]> {
      if (ids.length === 0) return [];
      return db.select().from(deliveries).where(inArray(deliveries.id, [...ids]));
    },
    /** Newest first; the time window is an id range (ids are time-ordered). */
    async list(orgId: string, filter: DeliveryFilter, args: PageArgs): Promise<Page<DeliveryRow>> {
      const q = keyset(deliveries.id, args, [
        eq(deliveries.orgId, orgId),
        filter.endpointId ? eq(deliveries.endpointId, filter.endpointId) : undefined,
        filter.endpointIds ? inArray(deliveries.endpointId, filter.endpointIds.length ? filter.endpointIds : ['']) : undefined,
        filter.eventId ? eq(deliveries.eventId, filter.eventId) : undefined,
        filter.statuses?.length ? inArray(deliveries.status, filter.statuses) : undefined,
        filter.eventType ? eq(deliveries.eventType, filter.eventType) : undefined,
        filter.since ? gte(deliveries.id, idLowerBound('delivery', filter.since.getTime())) : undefined,
        filter.until ? lt(deliveries.id, idLowerBound('delivery', filter.until.getTime())) : undefined,
      ]);
      return toPage(await db.select().from(deliveries).where(q.where).orderBy(q.orderBy).limit(q.limit), args);
    },
    /**
     * The deliveries waiting for an endpoint (PENDING: behind its circuit, its pause or their next
     * retry): how many, counted up to `cap`, and the oldest one's creation time. Both read only
     * deliveries_endpoint_pending_idx.
     */
    async pendingBacklog(endpointId: string, cap: number): Promise<{ count: number; capped: boolean; oldestCreatedAt: Date | null }> {
      const pending = and(eq(deliveries.endpointId, endpointId), eq(deliveries.status, 'PENDING'));
      const [counted] = await db
        .select({ n: sql<number>`count(*)::int` })
        .from(db.select({ one: sql`1` }).from(deliveries).where(pending).limit(cap + 1).as('waiting'));
      const [oldest] = await db.select({ createdAt: deliveries.createdAt }).from(deliveries).where(pending).orderBy(asc(deliveries.id)).limit(1);
      const n = counted?.n ?? 0;
      return { count: Math.min(n, cap), capped: n > cap, oldestCreatedAt: oldest?.createdAt ?? null };
    },
    async byEvents(eventIds: readonly string[]): Promise<DeliveryRow[]> {
      if (eventIds.length === 0) return [];
      return db.select().from(deliveries).where(inArray(deliveries.eventId, [...eventIds])).orderBy(asc(deliveries.id));
    },
    /** Every attempt of these deliveries, oldest first. */
    async attemptsOf(deliveryIds: readonly string[]): Promise<AttemptRow[]> {
      if (deliveryIds.length === 0) return [];
      return db
        .select()
        .from(deliveryAttempts)
        .where(inArray(deliveryAttempts.deliveryId, [...deliveryIds]))
        .orderBy(asc(deliveryAttempts.deliveryId), asc(deliveryAttempts.attemptNumber));
    },
    async attemptsByIds(ids: readonly string[]): Promise<AttemptRow[]> {
      if (ids.length === 0) return [];
      return db.select().from(deliveryAttempts).where(inArray(deliveryAttempts.id, [...ids]));
    },
    async findAttemptForOrg(orgId: string, id: string): Promise<AttemptRow | null> {
      const [row] = await db
        .select()
        .from(deliveryAttempts)
        .where(and(eq(deliveryAttempts.orgId, orgId), eq(deliveryAttempts.id, id)))
        .orderBy(desc(deliveryAttempts.id));
      return row ?? null;
    },
  };
}
export type DeliveriesRepo = ReturnType<typeof createDeliveriesRepo>;
