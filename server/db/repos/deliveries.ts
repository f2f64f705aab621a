import { and, asc, desc, eq, gte, inArray, lt, sql, type AnyColumn, type SQL } from 'drizzle-orm';
import type { DbOrTx } from '../client.js';
import { deliveries, deliveryAttempts, type AttemptRow, type DeliveryRow } from '../schema.js';
import { idLowerBound, idTimeMs } from '../../domain/ids.js';
import { keyset, toPage, type Page, type PageArgs } from './pagination.js';
import { DEFAULT_HISTORY_READS, idRangeOf, readNewestFirst, type HistoryReadOptions, type IdRange } from './historyReads.js';

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

/** A delivery's attempts were made between its creation and its last attempt (or completion)... */
export interface AttemptsOwner {
  id: string;
  lastAttemptAt: Date | null;
  completedAt: Date | null;
}
/**
 * ...give or take an attempt that was in flight when the delivery was cancelled, recorded after
 * the cancellation (the record of an attempt and the delivery's update are otherwise one statement).
 */
const ATTEMPT_RECORD_SLACK_MS = 3_600_000;
/** Deliveries of an event carry its time (older ones were made within a publish call after it). */
const DELIVERY_AFTER_EVENT_MS = 60_000;

/** `column` within `range` (ids are time-ordered: the range prunes day partitions). */
export function inIdRange(column: AnyColumn, range: IdRange): SQL | undefined {
  return and(range.from === null ? undefined : gte(column, range.from), range.to === null ? undefined : lt(column, range.to));
}

/** Deliveries and their attempts (reads; the engine writes them). */
export function createDeliveriesRepo(db: DbOrTx, history: HistoryReadOptions = DEFAULT_HISTORY_READS) {
  return {
    async findForOrg(orgId: string, id: string): Promise<DeliveryRow | null> {
      const [row] = await db.select().from(deliveries).where(and(eq(deliveries.orgId, orgId), eq(deliveries.id, id)));
      return row ?? null;
    },
    async findByIds(ids: readonly string[]): Promise<DeliveryRow[]> {
      if (ids.length === 0) return [];
      return db.select().from(deliveries).where(inArray(deliveries.id, [...ids]));
    },
    /** Newest first; the time window is an id range (ids are time-ordered), read window by window. */
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
      // One event's deliveries: only its moment's partition.
      const eventMs = filter.eventId ? idTimeMs(filter.eventId) : null;
      const since = eventMs === null ? filter.since : new Date(Math.max(eventMs, filter.since?.getTime() ?? -Infinity));
      const until = eventMs === null ? filter.until : new Date(Math.min(eventMs + DELIVERY_AFTER_EVENT_MS + 1, filter.until?.getTime() ?? Infinity));
      const rows = await readNewestFirst({ kind: 'delivery', since, until, after: args.after, limit: q.limit, options: history }, (range, limit) =>
        db.select().from(deliveries).where(and(q.where, inIdRange(deliveries.id, range))).orderBy(q.orderBy).limit(limit),
      );
      return toPage(rows, args);
    },
    /**
     * The deliveries waiting for an endpoint (PENDING: behind its circuit, its pause or their next
     * retry): how many, counted up to `cap`, and the oldest one's creation time. Both read only
     * deliveries_endpoint_pending_idx, of the partitions from `pendingFrom` on (the pending
     * horizon, engine/pendingHorizon.ts: no older partition holds a pending delivery).
     */
    async pendingBacklog(endpointId: string, cap: number, pendingFrom: string): Promise<{ count: number; capped: boolean; oldestCreatedAt: Date | null }> {
      const pending = and(eq(deliveries.endpointId, endpointId), eq(deliveries.status, 'PENDING'), gte(deliveries.id, pendingFrom));
      const [counted] = await db
        .select({ n: sql<number>`count(*)::int` })
        .from(db.select({ one: sql`1` }).from(deliveries).where(pending).limit(cap + 1).as('waiting'));
      const [oldest] = await db.select({ createdAt: deliveries.createdAt }).from(deliveries).where(pending).orderBy(asc(deliveries.id)).limit(1);
      const n = counted?.n ?? 0;
      return { count: Math.min(n, cap), capped: n > cap, oldestCreatedAt: oldest?.createdAt ?? null };
    },
    async byEvents(eventIds: readonly string[]): Promise<DeliveryRow[]> {
      const range = idRangeOf('delivery', eventIds.map((id) => idTimeMs(id)).filter((ms): ms is number => ms !== null), DELIVERY_AFTER_EVENT_MS);
      if (!range) return [];
      return db
        .select()
        .from(deliveries)
        .where(and(inArray(deliveries.eventId, [...eventIds]), inIdRange(deliveries.id, range)))
        .orderBy(asc(deliveries.id));
    },
    /** Every attempt of these deliveries, oldest first. */
    async attemptsOf(owners: readonly AttemptsOwner[]): Promise<AttemptRow[]> {
      const times = owners.flatMap((o) => [idTimeMs(o.id), o.lastAttemptAt?.getTime() ?? null, o.completedAt?.getTime() ?? null]);
      const range = idRangeOf('attempt', times.filter((ms): ms is number => ms !== null), ATTEMPT_RECORD_SLACK_MS);
      if (!range) return [];
      return db
        .select()
        .from(deliveryAttempts)
        .where(and(inArray(deliveryAttempts.deliveryId, owners.map((o) => o.id)), inIdRange(deliveryAttempts.id, range)))
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
