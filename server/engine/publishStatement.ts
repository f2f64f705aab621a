import { CHANNELS, epochMsSql, wakeStampSql } from '../db/notifications.js';
import type { DeliveryJobs } from '../db/repos/deliveryJobs.js';
import { deliveryQueueOf } from '../db/queues.js';
import { timeOrderedUuid } from '../crypto/uuid.js';
import type { PreparedEvent } from './publishBatch.js';

/**
 * The publish statement. Its parameters: $1 the organization, $2 the publish time, $3 the events
 * (eventsJson), $4 the deliveries (deliveriesJson), $5 the wake-up payloads sent inside it (a
 * JSON array, empty outside a caller's transaction), $6 the catalog version the publish was
 * planned with, $7 the idempotency keys (keysJson).
 */
export function publishStatementSql(jobs: Pick<DeliveryJobs, 'insertJobsSql'>): string {
  return `
    WITH catalog_unchanged AS (
      -- The lookup this publish was planned with is still what the organization has (its
      -- endpoints, their subscriptions, the event types): otherwise nothing is written.
      SELECT 1 FROM organizations WHERE id = $1 AND catalog_version = $6::bigint
    ), keyed AS (
      -- eventId idempotency: the first event to claim a key in the organization gets it; the
      -- others are duplicates (a concurrent claim waits for the first one's commit). In key order,
      -- so two batches claiming the same keys cannot deadlock.
      INSERT INTO event_idempotency_keys (org_id, idempotency_key, event_id)
      SELECT $1, k.k, k.i FROM jsonb_to_recordset($7::text::jsonb) AS k(i text, k text)
      WHERE EXISTS (SELECT 1 FROM catalog_unchanged)
      ORDER BY k.k
      ON CONFLICT (org_id, idempotency_key) DO NOTHING
      RETURNING event_id
    ), written AS (
      INSERT INTO events (id, org_id, type, data, idempotency_key, ordering_key, created_at, traceparent)
      SELECT x.id, $1, x.type, x.data, x.ikey, x.okey, $2::timestamptz, x.tp
      FROM jsonb_to_recordset($3::text::jsonb) AS x(id text, type text, data jsonb, ikey text, okey text, tp text)
      WHERE EXISTS (SELECT 1 FROM catalog_unchanged) AND (x.ikey IS NULL OR x.id IN (SELECT event_id FROM keyed))
      RETURNING id, type, ordering_key
    ), planned AS (
      -- An endpoint deleted since the lookup (a moment ago) gets its delivery written CANCELLED
      -- and no job, so nothing is half-written. The organization in the join keeps the lookup to
      -- its own endpoints: on id alone the planner hashed every live endpoint of every
      -- organization through endpoints_org_idx (publish p50 3 → 38 ms from 10 to 100,000 endpoints).
      SELECT c.i AS id, c.e AS event_id, c.p AS endpoint_id, c.j AS job_id, w.type, w.ordering_key,
             CASE WHEN ep.id IS NOT NULL THEN c.q END AS queue, c.n
      FROM jsonb_to_recordset($4::text::jsonb) AS c(i text, e text, p text, j uuid, q text, n int)
      JOIN written w ON w.id = c.e
      LEFT JOIN endpoints ep ON ep.org_id = $1 AND ep.id = c.p AND ep.deleted_at IS NULL
    ), delivery_rows AS (
      INSERT INTO deliveries (id, org_id, event_id, endpoint_id, event_type, ordering_key, created_at, status, completed_at)
      SELECT id, $1, event_id, endpoint_id, type, ordering_key, $2::timestamptz,
             (CASE WHEN queue IS NULL THEN 'CANCELLED' ELSE 'PENDING' END)::delivery_status,
             CASE WHEN queue IS NULL THEN now() END
      FROM planned
      -- In publish order: seq (the per-endpoint publish order STRICT relies on) is given as rows come.
      ORDER BY n
    ), job_rows AS (
      ${jobs.insertJobsSql(`(SELECT job_id AS id, queue AS name, jsonb_build_object('d', id, 'e', event_id, 'p', endpoint_id, 'a', 0) AS data,
                NULL::timestamptz AS at FROM planned WHERE queue IS NOT NULL) AS x`)}
    ), woken AS (
      -- Only inside a caller's transaction (its commit is not ours to follow): see WakeSender.
      -- Stamped with now(): the jobs' due time (notifications.ts, wakePayloads).
      SELECT pg_notify('${CHANNELS.wake}', ${wakeStampSql('now()')} || p) FROM jsonb_array_elements_text($5::text::jsonb) AS p WHERE EXISTS (SELECT 1 FROM planned)
    )
    SELECT 'event' AS kind, id FROM written
    UNION ALL SELECT 'cancelled', id FROM planned WHERE queue IS NULL
    UNION ALL SELECT 'wake', NULL FROM woken
    UNION ALL SELECT 'stale', NULL WHERE NOT EXISTS (SELECT 1 FROM catalog_unchanged)
    -- The jobs' due time (now(): this transaction's start), for the wake-up after the commit.
    UNION ALL SELECT 'due', ${epochMsSql('now()')}`;
}

/**
 * Deliveries as JSON: id, event, endpoint, its job's id (time-ordered) and queue (the endpoint's
 * shard), and its place in publish order.
 */
export function deliveriesJson(deliveries: { id: string; event: PreparedEvent; endpointId: string }[]): string {
  return JSON.stringify(deliveries.map((d, n) => ({ i: d.id, e: d.event.id, p: d.endpointId, j: timeOrderedUuid(), q: deliveryQueueOf(d.endpointId), n })));
}

/**
 * The batch as one JSON document, the payloads spliced in as the JSON text already validated:
 * no second serialisation, and no per-quote escaping of a text array by postgres.js (which for
 * 1,000 1 KiB payloads cost more than the insert itself).
 */
export function eventsJson(events: PreparedEvent[], callTraceparent: string | null): string {
  const rows: string[] = [];
  for (const e of events) {
    rows.push(
      `{"id":${JSON.stringify(e.id)},"type":${JSON.stringify(e.type)},"data":${e.dataJson},"ikey":${JSON.stringify(e.eventId)},"okey":${JSON.stringify(e.orderingKey)},"tp":${JSON.stringify(e.traceparent ?? callTraceparent)}}`,
    );
  }
  return `[${rows.join(',')}]`;
}

/** The eventIds the batch claims (its idempotency keys) as JSON: event id and key. */
export function keysJson(events: PreparedEvent[]): string {
  return JSON.stringify(events.filter((e) => e.eventId !== null).map((e) => ({ i: e.id, k: e.eventId })));
}
