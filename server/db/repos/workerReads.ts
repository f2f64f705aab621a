import type { Sql } from 'postgres';
import { strictBlockedQuery, type StrictCandidate } from './strictOrdering.js';

/** A delivery as loaded for an attempt. */
export interface LoadedDelivery {
  id: string;
  orgId: string;
  eventId: string;
  eventType: string;
  /** The event's creation time: the envelope `timestamp`, and the start of delivery latency. */
  eventCreatedAt: Date;
  /** The stored payload as JSON text, sent without re-serialising. */
  dataJson: string;
  /** W3C traceparent given when the event was published (engine/tracing.ts); each attempt continues that trace. */
  traceparent?: string | null;
  attemptCount: number;
  orderingKey: string | null;
  seq: number;
  status: 'PENDING' | 'SUCCEEDED' | 'DEAD' | 'CANCELLED';
}

/** A delivery of the round, or (delivery_id null) an event of the round with its payload. */
interface LoadRow {
  delivery_id: string | null;
  org_id: string;
  event_id: string;
  event_type: string;
  attempt_count: number;
  ordering_key: string | null;
  seq: string;
  status: LoadedDelivery['status'];
  created_at: Date;
  data_json: string | null;
  traceparent: string | null;
}

// Deliveries of the round, then each event once (an event fanned out to many endpoints is in a
// round many times: its payload is read and sent over once). A hash, not a sort: the worker
// pool runs with enable_sort off. Both tables are read by ids given as parameters ($2: the
// jobs' event ids), so Postgres plans only the day partitions holding them.
export const LOAD_SQL = `
  WITH loaded AS (
    SELECT d.id AS delivery_id, d.org_id, d.event_id, d.event_type, d.attempt_count, d.ordering_key, d.seq, d.status
    FROM deliveries d WHERE d.id = ANY($1::text[])
  )
  SELECT delivery_id, org_id, event_id, event_type, attempt_count, ordering_key, seq, status,
         NULL::timestamptz AS created_at, NULL::text AS data_json, NULL::text AS traceparent
  FROM loaded
  UNION ALL
  SELECT NULL, NULL, e.id, NULL, NULL, NULL, NULL, NULL, e.created_at, e.data::text, e.traceparent
  FROM events e WHERE e.id = ANY($2::text[]) AND e.id IN (SELECT event_id FROM loaded)`;

/**
 * The reads of the delivery worker: what a round leased (deliveries and their events' payloads,
 * one query) and which STRICT deliveries an earlier pending one holds back. `pendingFrom` gives
 * the smallest id a pending delivery outside the DEFAULT partition can have (the pending horizon,
 * engine/pendingHorizon.ts), so the STRICT check plans only recent partitions.
 */
export function createWorkerReads(sql: Sql, pendingFrom: () => Promise<string>) {
  return {
    /** The leased jobs' deliveries and payloads; each job names its delivery and its event. */
    async loadDeliveries(jobs: readonly { deliveryId: string; eventId: string }[]): Promise<Map<string, LoadedDelivery>> {
      const result = new Map<string, LoadedDelivery>();
      if (jobs.length === 0) return result;
      const params = [jobs.map((j) => j.deliveryId), [...new Set(jobs.map((j) => j.eventId))]];
      const rows = await sql.unsafe<LoadRow[]>(LOAD_SQL, params as never[], { prepare: true });
      const events = new Map<string, { createdAt: Date; dataJson: string; traceparent: string | null }>();
      for (const r of rows) {
        if (r.delivery_id === null) events.set(r.event_id, { createdAt: r.created_at, dataJson: r.data_json ?? 'null', traceparent: r.traceparent });
      }
      for (const r of rows) {
        if (r.delivery_id === null) continue;
        const event = events.get(r.event_id);
        if (!event) continue;
        result.set(r.delivery_id, {
          id: r.delivery_id,
          orgId: r.org_id,
          eventId: r.event_id,
          eventType: r.event_type,
          eventCreatedAt: event.createdAt,
          dataJson: event.dataJson,
          traceparent: event.traceparent,
          attemptCount: r.attempt_count,
          orderingKey: r.ordering_key,
          seq: Number(r.seq),
          status: r.status,
        });
      }
      return result;
    },

    /** Of these STRICT deliveries, those an earlier pending delivery with the same key holds back. */
    async strictBlocked(candidates: StrictCandidate[]): Promise<Set<string>> {
      if (candidates.length === 0) return new Set();
      const rows = await strictBlockedQuery(sql, candidates, await pendingFrom());
      return new Set(rows.map((r) => r.id));
    },
  };
}
export type WorkerReads = ReturnType<typeof createWorkerReads>;
