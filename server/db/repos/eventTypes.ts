import { and, asc, eq, inArray, isNull, or, sql } from 'drizzle-orm';
import type { DbOrTx } from '../client.js';
import { eventTypes, type EventTypeRow } from '../schema.js';
import { BUILT_IN_EVENT_TYPES } from '../../domain/eventCatalog.js';

/** The event-type catalog: built-in rows (org_id null) plus each organization's own. */
export function createEventTypesRepo(db: DbOrTx) {
  const visibleTo = (orgId: string) => or(isNull(eventTypes.orgId), eq(eventTypes.orgId, orgId));

  return {
    /** Inserts or refreshes the built-in catalog; idempotent, safe from several processes. */
    async seedBuiltIns(newId: () => string): Promise<void> {
      for (const t of BUILT_IN_EVENT_TYPES) {
        await db.execute(sql`
          INSERT INTO event_types (id, org_id, name, category, description)
          VALUES (${newId()}, NULL, ${t.name}, ${t.category}, ${t.description})
          ON CONFLICT (name) WHERE org_id IS NULL
          DO UPDATE SET category = EXCLUDED.category, description = EXCLUDED.description`);
      }
    },
    /** Every type an organization can use, built-in first, then by name. */
    async listForOrg(orgId: string): Promise<EventTypeRow[]> {
      return db
        .select()
        .from(eventTypes)
        .where(visibleTo(orgId))
        .orderBy(sql`${eventTypes.orgId} IS NOT NULL`, asc(eventTypes.name));
    },
    async findByNames(orgId: string, names: string[], tx: DbOrTx = db): Promise<EventTypeRow[]> {
      if (names.length === 0) return [];
      return tx.select().from(eventTypes).where(and(visibleTo(orgId), inArray(eventTypes.name, names)));
    },
    async findByName(orgId: string, name: string): Promise<EventTypeRow | null> {
      const [row] = await db.select().from(eventTypes).where(and(visibleTo(orgId), eq(eventTypes.name, name)));
      return row ?? null;
    },
    async findForOrg(orgId: string, id: string): Promise<EventTypeRow | null> {
      const [row] = await db.select().from(eventTypes).where(and(visibleTo(orgId), eq(eventTypes.id, id)));
      return row ?? null;
    },
    async insert(row: typeof eventTypes.$inferInsert, tx: DbOrTx = db): Promise<EventTypeRow> {
      const [created] = await tx.insert(eventTypes).values(row).returning();
      return created!;
    },
    async deprecate(orgId: string, id: string, tx: DbOrTx = db): Promise<EventTypeRow | null> {
      const [row] = await tx
        .update(eventTypes)
        .set({ deprecated: true, deprecatedAt: sql`COALESCE(${eventTypes.deprecatedAt}, now())` })
        .where(and(eq(eventTypes.orgId, orgId), eq(eventTypes.id, id)))
        .returning();
      return row ?? null;
    },
  };
}
export type EventTypesRepo = ReturnType<typeof createEventTypesRepo>;
