import type { TransactionSql } from 'postgres';

const NAME_LOCK_CLASS = 7164041;

/**
 * Serialises, until the transaction ends, writers of the same names in one organization (client
 * uids, event-type names): whoever comes second checks after the first committed and gets a
 * clear "already used by ..." answer instead of a unique violation. A unique violation would
 * abort the transaction, and naming the winner would then need a second connection while this
 * one is held, which starves the pool when many writers collide. Names are locked in sorted
 * order, so two transactions locking several never wait on each other in a cycle.
 */
export async function lockNames(sql: TransactionSql, orgId: string, names: readonly string[]): Promise<void> {
  const sorted = [...new Set(names)].sort();
  if (sorted.length === 0) return;
  const keys = sorted.map((name) => `${orgId}/${name}`);
  await sql`SELECT pg_advisory_xact_lock(${NAME_LOCK_CLASS}, hashtext(k)) FROM unnest(${keys}::text[]) AS k`;
}

/** The lock names of an endpoint uid, an event-type name and an event-type uid. */
export const lockName = {
  endpointUid: (uid: string) => `endpoint-uid:${uid}`,
  eventTypeName: (name: string) => `event-type:${name}`,
  eventTypeUid: (uid: string) => `event-type-uid:${uid}`,
};
