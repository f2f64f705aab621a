import { and, eq, exists, getTableColumns, gte, inArray, lt, sql } from 'drizzle-orm';
import type { DbOrTx } from '../client.js';
import { deliveries, eventIdempotencyKeys, events, type EventRow } from '../schema.js';
import { idLowerBound, idTimeMs } from '../../domain/ids.js';
import { keyset, toPage, type Page, type PageArgs } from './pagination.js';
import { DEFAULT_HISTORY_READS, readNewestFirst, type HistoryReadOptions } from './historyReads.js';
import { inIdRange } from './deliveries.js';

export interface EventFilter {
  type?: string | null;
  /** The caller's idempotency key (`eventId` at publish time). */
  eventId?: string | null;
  orderingKey?: string | null;
  since?: Date | null;
  until?: Date | null;
  /** Only events delivered to one of these endpoints (a label-scoped portal session's). */
  deliveredTo?: string[] | null;
}

/** Every column, or every column but the payload (read as null): callers who may not see payloads do not load them. */
const columns = (withPayload: boolean) => (withPayload ? getTableColumns(events) : { ...getTableColumns(events), data: sql<null>`NULL::jsonb`.as('data') });

/** Published events (reads; publishing writes through the engine). */
export function createEventsRepo(db: DbOrTx, history: HistoryReadOptions = DEFAULT_HISTORY_READS) {
  return {
    async findForOrg(orgId: string, id: string, options: { withPayload?: boolean } = {}): Promise<EventRow | null> {
      const [row] = await db.select(columns(options.withPayload ?? true)).from(events).where(and(eq(events.orgId, orgId), eq(events.id, id)));
      return (row as EventRow | undefined) ?? null;
    },
    async findByIds(ids: readonly string[], options: { withPayload?: boolean } = {}): Promise<EventRow[]> {
      if (ids.length === 0) return [];
      return (await db.select(columns(options.withPayload ?? true)).from(events).where(inArray(events.id, [...ids]))) as EventRow[];
    },
    /**
     * The payload of each event as Postgres renders its jsonb (`data::text`): the exact text the
     * dispatcher puts in the envelope. Null once purged.
     */
    async payloadTexts(orgId: string, ids: readonly string[]): Promise<{ id: string; type: string; createdAt: Date; dataJson: string | null }[]> {
      if (ids.length === 0) return [];
      return db
        .select({ id: events.id, type: events.type, createdAt: events.createdAt, dataJson: sql<string | null>`${events.data}::text` })
        .from(events)
        .where(and(eq(events.orgId, orgId), inArray(events.id, [...ids])));
    },
    /** Newest first; the time window is an id range (ids are time-ordered), read window by window. */
    async list(orgId: string, filter: EventFilter, args: PageArgs, options: { withPayload?: boolean } = {}): Promise<Page<EventRow>> {
      let since = filter.since;
      let until = filter.until;
      let byKey: string | null = null;
      if (filter.eventId) {
        // The caller's key names one event: found through its key table, then read in its day.
        const [key] = await db
          .select({ eventId: eventIdempotencyKeys.eventId })
          .from(eventIdempotencyKeys)
          .where(and(eq(eventIdempotencyKeys.orgId, orgId), eq(eventIdempotencyKeys.idempotencyKey, filter.eventId)));
        const ms = key ? idTimeMs(key.eventId) : null;
        if (!key || ms === null) return toPage([], args);
        byKey = key.eventId;
        if (!since || since.getTime() < ms) since = new Date(ms);
        if (!until || until.getTime() > ms + 1) until = new Date(ms + 1);
      }
      const q = keyset(events.id, args, [
        eq(events.orgId, orgId),
        filter.type ? eq(events.type, filter.type) : undefined,
        byKey ? eq(events.id, byKey) : undefined,
        filter.orderingKey ? eq(events.orderingKey, filter.orderingKey) : undefined,
        since ? gte(events.id, idLowerBound('event', since.getTime())) : undefined,
        until ? lt(events.id, idLowerBound('event', until.getTime())) : undefined,
        filter.deliveredTo
          ? exists(
              db
                .select({ one: sql`1` })
                .from(deliveries)
                .where(
                  and(
                    eq(deliveries.eventId, events.id),
                    // An event's deliveries carry its time in their ids: older day partitions are skipped at run time.
                    sql`${deliveries.id} >= 'dlv_' || substr(${events.id}, 5, 10)`,
                    inArray(deliveries.endpointId, filter.deliveredTo.length ? filter.deliveredTo : ['']),
                  ),
                )
            )
          : undefined,
      ]);
      const rows = await readNewestFirst(
        { kind: 'event', since, until, after: args.after, limit: q.limit, options: history },
        (range, limit) => db.select(columns(options.withPayload ?? true)).from(events).where(and(q.where, inIdRange(events.id, range))).orderBy(q.orderBy).limit(limit),
      );
      return toPage(rows as EventRow[], args);
    },
  };
}
export type EventsRepo = ReturnType<typeof createEventsRepo>;
