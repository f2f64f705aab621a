import { and, eq, exists, getTableColumns, gte, inArray, lt, sql } from 'drizzle-orm';
import type { DbOrTx } from '../client.js';
import { deliveries, events, type EventRow } from '../schema.js';
import { idLowerBound } from '../../domain/ids.js';
import { keyset, toPage, type Page, type PageArgs } from './pagination.js';

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
export function createEventsRepo(db: DbOrTx) {
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
    /** Newest first; the time window is an id range (ids are time-ordered). */
    async list(orgId: string, filter: EventFilter, args: PageArgs, options: { withPayload?: boolean } = {}): Promise<Page<EventRow>> {
      const q = keyset(events.id, args, [
        eq(events.orgId, orgId),
        filter.type ? eq(events.type, filter.type) : undefined,
        filter.eventId ? eq(events.idempotencyKey, filter.eventId) : undefined,
        filter.orderingKey ? eq(events.orderingKey, filter.orderingKey) : undefined,
        filter.since ? gte(events.id, idLowerBound('event', filter.since.getTime())) : undefined,
        filter.until ? lt(events.id, idLowerBound('event', filter.until.getTime())) : undefined,
        filter.deliveredTo
          ? exists(
              db
                .select({ one: sql`1` })
                .from(deliveries)
                .where(and(eq(deliveries.eventId, events.id), inArray(deliveries.endpointId, filter.deliveredTo.length ? filter.deliveredTo : [''])))
            )
          : undefined,
      ]);
      const rows = await db.select(columns(options.withPayload ?? true)).from(events).where(q.where).orderBy(q.orderBy).limit(q.limit);
      return toPage(rows as EventRow[], args);
    },
  };
}
export type EventsRepo = ReturnType<typeof createEventsRepo>;
