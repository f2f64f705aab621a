import { and, eq, sql } from 'drizzle-orm';
import type { Db } from '../client.js';
import { deliveries, deliveryAttempts, endpoints, type AttemptRow, type DeliveryRow, type EndpointRow } from '../schema.js';

/**
 * Attempts (placeholder `ids`) with their deliveries (placeholder `deliveryIds`, from the same
 * notifications): naming both tables' ids lets Postgres plan only the day partitions holding
 * them (a join condition alone would plan every partition of deliveries).
 */
export function liveAttemptsQuery(db: Db) {
  return db
    .select({ attempt: deliveryAttempts, delivery: deliveries })
    .from(deliveryAttempts)
    .leftJoin(deliveries, and(eq(deliveries.id, deliveryAttempts.deliveryId), sql`${deliveries.id} = ANY(${sql.placeholder('deliveryIds')}::text[])`))
    .where(sql`${deliveryAttempts.id} = ANY(${sql.placeholder('ids')}::text[])`);
}

/**
 * The rows live messages read beyond what notifications carry. Drizzle prepared queries, built
 * once (building them cost ~0.7 ms of CPU per batch, more than running them).
 */
export function createLiveRowsRepo(db: Db) {
  const attemptsByIds = liveAttemptsQuery(db).prepare('live_attempts_by_ids');
  const endpointsByIds = db
    .select()
    .from(endpoints)
    .where(sql`${endpoints.id} = ANY(${sql.placeholder('ids')}::text[])`)
    .prepare('live_endpoints_by_ids');
  return {
    /** Attempts with their deliveries (null when the delivery is gone), any organization. */
    attemptsByIds: (ids: string[], deliveryIds: string[]): Promise<{ attempt: AttemptRow; delivery: DeliveryRow | null }[]> =>
      attemptsByIds.execute({ ids, deliveryIds }),
    /** Endpoint rows, any organization (callers check it against the message's). */
    endpointsByIds: (ids: string[]): Promise<EndpointRow[]> => endpointsByIds.execute({ ids }),
  };
}
export type LiveRowsRepo = ReturnType<typeof createLiveRowsRepo>;
