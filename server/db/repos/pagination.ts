import { and, desc, lt, type SQL, type AnyColumn } from 'drizzle-orm';
import { pageSize, type PageArgs } from '../../domain/pages.js';

// The page rules are the domain's (the GraphQL layer prices lists by them without the database).
export { toPage, type Page, type PageArgs } from '../../domain/pages.js';

/** Where-clause and order for keyset pagination on an id column, newest first. */
export function keyset(idColumn: AnyColumn, args: PageArgs, where: (SQL | undefined)[]) {
  const conditions = [...where];
  if (args.after) conditions.push(lt(idColumn, args.after));
  return { where: and(...conditions), orderBy: desc(idColumn), limit: pageSize(args) + 1 };
}
