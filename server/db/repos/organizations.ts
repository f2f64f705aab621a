import { eq, sql } from 'drizzle-orm';
import type { DbOrTx } from '../client.js';
import { organizations, type Organization } from '../schema.js';
import { keyset, toPage, type Page, type PageArgs } from './pagination.js';

/** Organization rows: the tenant boundary of everything else. */
export function createOrganizationsRepo(db: DbOrTx) {
  return {
    async insert(row: { id: string; name: string; plan: Organization['plan'] }, tx: DbOrTx = db): Promise<Organization> {
      const [created] = await tx.insert(organizations).values(row).returning();
      return created!;
    },
    async findById(id: string): Promise<Organization | null> {
      const [row] = await db.select().from(organizations).where(eq(organizations.id, id));
      return row ?? null;
    },
    async findByName(name: string): Promise<Organization | null> {
      const [row] = await db.select().from(organizations).where(eq(organizations.name, name));
      return row ?? null;
    },
    /** A page of organizations, newest first (ids are time-ordered). */
    async page(args: PageArgs): Promise<Page<Organization>> {
      const { where, orderBy, limit } = keyset(organizations.id, args, []);
      const rows = await db
        .select({ id: organizations.id, name: organizations.name, plan: organizations.plan, createdAt: organizations.createdAt })
        .from(organizations)
        .where(where)
        .orderBy(orderBy)
        .limit(limit);
      return toPage(rows, args);
    },
    async count(): Promise<number> {
      const [row] = await db.select({ n: sql<number>`count(*)::int` }).from(organizations);
      return row?.n ?? 0;
    },
  };
}
export type OrganizationsRepo = ReturnType<typeof createOrganizationsRepo>;
