import { and, eq, gte, inArray, lt } from 'drizzle-orm';
import type { DbOrTx } from '../client.js';
import { events, type EventRow } from '../schema.js';
import { idLowerBound } from '../../domain/ids.js';
import { keyset, toPage, type Page, type PageArgs } from './pagination.js';
import { DEFAULT_HISTORY_READS, readNewestFirst, type HistoryReadOptions } from './historyReads.js';
import { inIdRange } from './deliveries.js';

export interface EventFilter {
  type?: string | null;
  orderingKey?: string | null;
  since?: Date | null;
  until?: Date | null;
}

/** Published events (reads; publishing writes through the engine). */
export function createEventsRepo(db: DbOrTx, history: HistoryReadOptions = DEFAULT_HISTORY_READS) {
  return {
    async findForOrg(orgId: string, id: string): Promise<EventRow | null> {
      const [row] = await db.select().from(events).where(and(eq(events.orgId, orgId), eq(events.id, id)));
      return row ?? null;
    },
    async findByIds(ids: readonly string[]): Promise<EventRow[]> {
      if (ids.length === 0) return [];
      return db.select().from(events).where(inArray(events.id, [...ids]));
    },
    /** Newest first; the time window is an id range (ids are time-ordered), read window by window. */
    async list(orgId: string, filter: EventFilter, args: PageArgs): Promise<Page<EventRow>> {
      const q = keyset(events.id, args, [
        eq(events.orgId, orgId),
        filter.type ? eq(events.type, filter.type) : undefined,
        filter.orderingKey ? eq(events.orderingKey, filter.orderingKey) : undefined,
        filter.since ? gte(events.id, idLowerBound('event', filter.since.getTime())) : undefined,
        filter.until ? lt(events.id, idLowerBound('event', filter.until.getTime())) : undefined,
      ]);
      const rows = await readNewestFirst(
        { kind: 'event', since: filter.since, until: filter.until, after: args.after, limit: q.limit, options: history },
        (range, limit) => db.select().from(events).where(and(q.where, inIdRange(events.id, range))).orderBy(q.orderBy).limit(limit),
      );
      return toPage(rows, args);
    },
  };
}
export type EventsRepo = ReturnType<typeof createEventsRepo>;
