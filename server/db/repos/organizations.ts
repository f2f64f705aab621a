import { eq, sql } from 'drizzle-orm';
import type { DbOrTx } from '../client.js';
import { organizations, type Organization } from '../schema.js';

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
    async count(): Promise<number> {
      const [row] = await db.select({ n: sql<number>`count(*)::int` }).from(organizations);
      return row?.n ?? 0;
    },
  };
}
export type OrganizationsRepo = ReturnType<typeof createOrganizationsRepo>;
