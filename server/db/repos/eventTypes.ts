import { and, asc, eq, inArray, isNull, or, sql } from 'drizzle-orm';
import type { DbOrTx } from '../client.js';
import { eventTypes, type EventTypeRow } from '../schema.js';
import { BUILT_IN_EVENT_TYPES } from '../../domain/eventCatalog.js';
import type { ObjectRef } from '../../domain/clientIds.js';

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
    async listForOrg(orgId: string, tx: DbOrTx = db): Promise<EventTypeRow[]> {
      return tx
        .select()
        .from(eventTypes)
        .where(visibleTo(orgId))
        .orderBy(sql`${eventTypes.orgId} IS NOT NULL`, asc(eventTypes.name));
    },
    async findByNames(orgId: string, names: string[], tx: DbOrTx = db): Promise<EventTypeRow[]> {
      if (names.length === 0) return [];
      return tx.select().from(eventTypes).where(and(visibleTo(orgId), inArray(eventTypes.name, names)));
    },
    async findByName(orgId: string, name: string, tx: DbOrTx = db): Promise<EventTypeRow | null> {
      const [row] = await tx.select().from(eventTypes).where(and(visibleTo(orgId), eq(eventTypes.name, name)));
      return row ?? null;
    },
    async findForOrg(orgId: string, id: string): Promise<EventTypeRow | null> {
      const [row] = await db.select().from(eventTypes).where(and(visibleTo(orgId), eq(eventTypes.id, id)));
      return row ?? null;
    },
    /** One of the organization's own types by its client uid. */
    async findByUid(orgId: string, uid: string, tx: DbOrTx = db): Promise<EventTypeRow | null> {
      const [row] = await tx.select().from(eventTypes).where(and(eq(eventTypes.orgId, orgId), eq(eventTypes.uid, uid)));
      return row ?? null;
    },
    /** A type the organization can use, by id or by (its own types') uid. */
    async findByRef(orgId: string, ref: ObjectRef, tx: DbOrTx = db): Promise<EventTypeRow | null> {
      if (ref.by === 'none') return null;
      if (ref.by === 'uid') return this.findByUid(orgId, ref.uid, tx);
      const [row] = await tx.select().from(eventTypes).where(and(visibleTo(orgId), eq(eventTypes.id, ref.id)));
      return row ?? null;
    },
    /** The organization's own types, locked for the rest of the transaction (declarative configuration). */
    async lockOwn(orgId: string, tx: DbOrTx): Promise<EventTypeRow[]> {
      return tx.select().from(eventTypes).where(eq(eventTypes.orgId, orgId)).orderBy(asc(eventTypes.name)).for('update');
    },
    async update(orgId: string, id: string, values: Partial<typeof eventTypes.$inferInsert>, tx: DbOrTx = db): Promise<EventTypeRow | null> {
      if (Object.keys(values).length === 0) {
        const [row] = await tx.select().from(eventTypes).where(and(eq(eventTypes.orgId, orgId), eq(eventTypes.id, id)));
        return row ?? null;
      }
      const [row] = await tx
        .update(eventTypes)
        .set(values)
        .where(and(eq(eventTypes.orgId, orgId), eq(eventTypes.id, id)))
        .returning();
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
