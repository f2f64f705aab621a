import type { Sql, TransactionSql } from 'postgres';

/** A leased delivery of a STRICT endpoint that may have to wait. */
export interface StrictCandidate {
  id: string;
  endpointId: string;
  orderingKey: string;
  seq: number;
}

/**
 * STRICT ordering's two statements over pending deliveries. `pendingFrom` is the pending horizon
 * (engine/pendingHorizon.ts): no day partition older than it holds a PENDING delivery, so the
 * statements plan only the recent partitions (and the DEFAULT one) instead of every partition.
 * Both return un-run queries (postgres.js runs them when awaited; tests EXPLAIN them).
 */

/** The candidates an earlier pending delivery with the same ordering key holds back (their ids). */
export function strictBlockedQuery(sql: Sql | TransactionSql, candidates: StrictCandidate[], pendingFrom: string) {
  return sql<{ id: string }[]>`
    SELECT x.id FROM unnest(${candidates.map((c) => c.id)}::text[], ${candidates.map((c) => c.endpointId)}::text[],
                             ${candidates.map((c) => c.orderingKey)}::text[], ${candidates.map((c) => c.seq)}::bigint[]) AS x(id, ep, k, seq)
    WHERE EXISTS (
      SELECT 1 FROM deliveries p
      WHERE p.endpoint_id = x.ep AND p.ordering_key = x.k AND p.status = 'PENDING' AND p.seq < x.seq AND p.id >= ${pendingFrom})`;
}

/** For each (endpoint, ordering key): its earliest pending delivery, unparked (and returned) if it was parked. */
export function unparkHeadsQuery(sql: Sql | TransactionSql, keys: { endpointId: string; orderingKey: string }[], pendingFrom: string) {
  return sql<{ id: string; endpoint_id: string; event_id: string; attempt_count: number }[]>`
    WITH touched AS (
      SELECT * FROM unnest(${keys.map((k) => k.endpointId)}::text[], ${keys.map((k) => k.orderingKey)}::text[]) AS t(ep, k)
    ), heads AS (
      SELECT h.* FROM touched t CROSS JOIN LATERAL (
        SELECT d.id, d.parked FROM deliveries d
        WHERE d.endpoint_id = t.ep AND d.ordering_key = t.k AND d.status = 'PENDING' AND d.id >= ${pendingFrom}
        ORDER BY d.seq LIMIT 1
      ) h
    )
    UPDATE deliveries d SET parked = false, next_attempt_at = now()
    FROM heads WHERE d.id = heads.id AND heads.parked AND d.id >= ${pendingFrom}
    RETURNING d.id, d.endpoint_id, d.event_id, d.attempt_count`;
}
