import { randomBytes } from 'node:crypto';
import type { Sql, TransactionSql } from 'postgres';
import { DELIVERY_QUEUE_OPTIONS, deliveryQueueName, endpointIdOfQueue, type DeliveryJobData } from './jobs.js';

type Executor = Sql | TransactionSql;

export interface EnqueueJob {
  endpointId: string;
  deliveryId: string;
  eventId: string;
  /** Null or undefined: due now. */
  startAfter?: Date | null;
  /** Asked for by an operator (attempt trigger MANUAL). */
  manual?: boolean;
  /** A failure ends the delivery (DEAD) instead of scheduling more attempts. */
  singleAttempt?: boolean;
}

export interface FetchedJob {
  id: string;
  endpointId: string;
  deliveryId: string;
  eventId: string;
  /** Times this job was fetched before (non-zero after a lease expired). */
  retryCount: number;
  manual: boolean;
  singleAttempt: boolean;
}

/**
 * The delivery queue on pg-boss 10's tables. pg-boss creates and maintains the schema, the
 * per-queue partitions (`create_queue`/`delete_queue`), lease expiry and archiving; this module
 * owns the four hot statements, written against pg-boss 10's `job` table because its own
 * versions do not fit a delivery engine:
 * - enqueue: bulk `unnest` insert with RETURNING, so a publish of 1,000 events writes its jobs in
 *   one statement and sees which endpoint queues vanished (deleted endpoint) in the same
 *   transaction; pg-boss's `insert()` serialises JSON and returns nothing.
 * - fetch: pg-boss orders `priority, created_on, id` through an index on `(name, start_after)`,
 *   which sorts the whole backlog on every fetch; ours walks `job_fifo_idx` in order, so a
 *   million queued jobs cost the same per fetch as ten. Job ids are time-ordered UUIDs, so jobs
 *   written by one transaction (same `created_on`) still come out in publish order.
 * - remove: finished jobs are deleted in the transaction that records the attempt, instead of
 *   being completed, archived and then deleted by maintenance (three writes instead of one).
 * - releaseActive: when a worker takes over an endpoint from a dead one it makes that worker's
 *   leased jobs fetchable at once rather than after lease expiry.
 * test/integration/jobQueue.test.ts pins these to pg-boss's behaviour (lease expiry through
 * pg-boss maintenance, queue creation and deletion).
 */
export function createJobQueue(sql: Sql, schema = 'pgboss') {
  const job = `${schema}.job`;
  const queue = `${schema}.queue`;
  const queueOptions = JSON.stringify(DELIVERY_QUEUE_OPTIONS);

  return {
    /** Adds the FIFO index to pg-boss's partitioned job table (propagates to every partition). */
    async ensureIndexes(): Promise<void> {
      await sql.unsafe(
        `CREATE INDEX IF NOT EXISTS job_fifo_idx ON ${job} (name, created_on, id) WHERE state < 'active'`,
      );
    },

    /** Creates the endpoint's queue (a partition) inside the caller's transaction. */
    async createEndpointQueue(tx: Executor, endpointId: string): Promise<void> {
      // Typed text, not json: postgres.js would JSON-encode the string a second time for a json parameter.
      await tx.unsafe(`SELECT ${schema}.create_queue($1, $2::text::json)`, [deliveryQueueName(endpointId), queueOptions]);
    },

    /** Drops the endpoint's queue and every job in it, inside the caller's transaction. */
    async dropEndpointQueue(tx: Executor, endpointId: string): Promise<void> {
      // pg-boss's delete_queue fails while jobs still reference the queue (ON DELETE RESTRICT).
      await tx.unsafe(`DELETE FROM ${job} WHERE name = $1`, [deliveryQueueName(endpointId)]);
      await tx.unsafe(`SELECT ${schema}.delete_queue($1)`, [deliveryQueueName(endpointId)]);
    },

    /**
     * Writes one job per delivery in the caller's transaction. Returns the ids of deliveries whose
     * job was written; a delivery missing from the result had no queue (its endpoint was deleted).
     */
    async enqueue(tx: Executor, jobs: EnqueueJob[]): Promise<Set<string>> {
      if (jobs.length === 0) return new Set();
      const ids: string[] = [];
      const names: string[] = [];
      const data: string[] = [];
      const startAfter: (string | null)[] = [];
      for (const j of jobs) {
        ids.push(timeOrderedUuid());
        names.push(deliveryQueueName(j.endpointId));
        const payload: DeliveryJobData = { d: j.deliveryId, e: j.eventId };
        if (j.manual) payload.m = 1;
        if (j.singleAttempt) payload.s = 1;
        data.push(JSON.stringify(payload));
        startAfter.push(j.startAfter ? j.startAfter.toISOString() : null);
      }
      const rows = await tx.unsafe<{ d: string }[]>(
        `INSERT INTO ${job} (id, name, data, start_after, retry_limit, retry_delay, retry_backoff, expire_in, keep_until, policy)
         SELECT x.id, x.name, x.data::jsonb, COALESCE(x.start_after, now()), q.retry_limit, q.retry_delay, q.retry_backoff,
                q.expire_seconds * interval '1 second', COALESCE(x.start_after, now()) + q.retention_minutes * interval '1 minute', q.policy
         FROM unnest($1::uuid[], $2::text[], $3::text[], $4::timestamptz[]) AS x(id, name, data, start_after)
         JOIN ${queue} q ON q.name = x.name
         RETURNING data->>'d' AS d`,
        [ids, names, data, startAfter] as never[],
        { prepare: true },
      );
      return new Set(rows.map((r) => r.d));
    },

    /** Leases up to `limit` due jobs of one endpoint, oldest first. */
    async fetch(endpointId: string, limit: number): Promise<FetchedJob[]> {
      const rows = await sql.unsafe<{ id: string; data: DeliveryJobData; retry_count: number }[]>(
        `WITH next AS (
           SELECT id FROM ${job}
           WHERE name = $1 AND state < 'active' AND start_after <= now()
           ORDER BY created_on, id
           LIMIT $2
           FOR UPDATE SKIP LOCKED
         )
         UPDATE ${job} j SET
           state = 'active',
           started_on = now(),
           retry_count = CASE WHEN j.started_on IS NOT NULL THEN j.retry_count + 1 ELSE j.retry_count END
         FROM next WHERE j.name = $1 AND j.id = next.id
         RETURNING j.id, j.data, j.retry_count`,
        [deliveryQueueName(endpointId), limit],
        { prepare: true },
      );
      // UPDATE ... RETURNING does not keep the CTE's order.
      rows.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
      return rows.map((r) => ({
        id: r.id,
        endpointId,
        deliveryId: r.data.d,
        eventId: r.data.e,
        retryCount: r.retry_count,
        manual: r.data.m === 1,
        singleAttempt: r.data.s === 1,
      }));
    },

    /** Deletes finished jobs of one endpoint in the caller's transaction. */
    async remove(tx: Executor, endpointId: string, jobIds: string[]): Promise<number> {
      if (jobIds.length === 0) return 0;
      const result = await tx.unsafe(`DELETE FROM ${job} WHERE name = $1 AND id = ANY($2::uuid[])`, [deliveryQueueName(endpointId), jobIds] as never[], {
        prepare: true,
      });
      return result.count;
    },

    /** Deletes finished jobs of several endpoints in one statement. */
    async removeMany(tx: Executor, jobs: { endpointId: string; jobId: string }[]): Promise<number> {
      if (jobs.length === 0) return 0;
      const result = await tx.unsafe(
        `DELETE FROM ${job} j USING unnest($1::text[], $2::uuid[]) AS x(name, id) WHERE j.name = x.name AND j.id = x.id`,
        [jobs.map((j) => deliveryQueueName(j.endpointId)), jobs.map((j) => j.jobId)] as never[],
        { prepare: true },
      );
      return result.count;
    },

    /** Hands leased jobs back unattempted, fetchable from `startAfter` (breaker open). */
    async requeue(tx: Executor, jobs: { endpointId: string; jobId: string; startAfter: Date }[]): Promise<number> {
      if (jobs.length === 0) return 0;
      const result = await tx.unsafe(
        `UPDATE ${job} j SET state = 'retry', start_after = x.start_after
         FROM unnest($1::text[], $2::uuid[], $3::timestamptz[]) AS x(name, id, start_after)
         WHERE j.name = x.name AND j.id = x.id AND j.state = 'active'`,
        [jobs.map((j) => deliveryQueueName(j.endpointId)), jobs.map((j) => j.jobId), jobs.map((j) => j.startAfter.toISOString())] as never[],
        { prepare: true },
      );
      return result.count;
    },

    /** Makes jobs leased by a worker that lost these endpoints fetchable again now. */
    async releaseActive(endpointIds: string[]): Promise<number> {
      if (endpointIds.length === 0) return 0;
      const result = await sql.unsafe(
        `UPDATE ${job} SET state = 'retry', start_after = now() WHERE name = ANY($1::text[]) AND state = 'active'`,
        [endpointIds.map(deliveryQueueName)] as never[],
      );
      return result.count;
    },

    /** Earliest `start_after` of waiting jobs per endpoint (endpoints with none are absent). */
    async nextDue(endpointIds: string[]): Promise<Map<string, Date>> {
      if (endpointIds.length === 0) return new Map();
      const rows = await sql.unsafe<{ name: string; due: Date }[]>(
        `SELECT name, min(start_after) AS due FROM ${job} WHERE name = ANY($1::text[]) AND state < 'active' GROUP BY name`,
        [endpointIds.map(deliveryQueueName)] as never[],
      );
      return new Map(rows.map((r) => [endpointIdOfQueue(r.name), new Date(r.due)]));
    },

    /** Waiting jobs across all delivery queues and the age of the oldest due one (metrics). */
    async depth(): Promise<{ waiting: number; active: number; oldestDueAgeSeconds: number }> {
      const [row] = await sql.unsafe<{ waiting: number; active: number; oldest: number | null }[]>(
        `SELECT count(*) FILTER (WHERE state < 'active')::int AS waiting,
                count(*) FILTER (WHERE state = 'active')::int AS active,
                EXTRACT(EPOCH FROM now() - min(start_after) FILTER (WHERE state < 'active' AND start_after <= now()))::float8 AS oldest
         FROM ${job} WHERE name LIKE 'deliver\\_%' AND state <= 'active'`,
      );
      return { waiting: row?.waiting ?? 0, active: row?.active ?? 0, oldestDueAgeSeconds: row?.oldest ?? 0 };
    },
  };
}
export type JobQueue = ReturnType<typeof createJobQueue>;

let lastMs = 0;
let sequence = 0;

/**
 * A UUIDv7 (RFC 9562): 48-bit milliseconds, then a 12-bit counter that keeps ids written in the
 * same millisecond by this process in creation order, then random bits.
 */
export function timeOrderedUuid(): string {
  let now = Date.now();
  if (now <= lastMs) {
    sequence++;
    if (sequence > 0xfff) {
      lastMs++;
      sequence = 0;
    }
    now = lastMs;
  } else {
    lastMs = now;
    sequence = 0;
  }
  const bytes = randomBytes(16);
  bytes.writeUIntBE(now, 0, 6);
  bytes[6] = 0x70 | (sequence >> 8);
  bytes[7] = sequence & 0xff;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
