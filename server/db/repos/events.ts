import { and, eq, getTableColumns, gte, inArray, lt, sql } from 'drizzle-orm';
import type { DbOrTx } from '../client.js';
import { events, type EventRow } from '../schema.js';
import { idLowerBound } from '../../domain/ids.js';
import { keyset, toPage, type Page, type PageArgs } from './pagination.js';

export interface EventFilter {
  type?: string | null;
  orderingKey?: string | null;
  since?: Date | null;
  until?: Date | null;
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
    /** Newest first; the time window is an id range (ids are time-ordered). */
    async list(orgId: string, filter: EventFilter, args: PageArgs, options: { withPayload?: boolean } = {}): Promise<Page<EventRow>> {
      const q = keyset(events.id, args, [
        eq(events.orgId, orgId),
        filter.type ? eq(events.type, filter.type) : undefined,
        filter.orderingKey ? eq(events.orderingKey, filter.orderingKey) : undefined,
        filter.since ? gte(events.id, idLowerBound('event', filter.since.getTime())) : undefined,
        filter.until ? lt(events.id, idLowerBound('event', filter.until.getTime())) : undefined,
      ]);
      const rows = await db.select(columns(options.withPayload ?? true)).from(events).where(q.where).orderBy(q.orderBy).limit(q.limit);
      return toPage(rows as EventRow[], args);
    },
  };
}
export type EventsRepo = ReturnType<typeof createEventsRepo>;
