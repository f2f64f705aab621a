import { and, asc, desc, eq, gte, inArray, lt, type AnyColumn, type SQL } from 'drizzle-orm';
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
