import type { Sql, TransactionSql } from 'postgres';
import { timeOrderedUuid } from '../../crypto/uuid.js';
import { SHARD_COUNT, shardOf, shardQueueName, type DeliveryJobData } from '../queues.js';
import { createDeliveryJobLayout } from './deliveryJobLayout.js';
import { createDeliveryJobUpkeep } from './deliveryJobUpkeep.js';

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
  /** Attempts the delivery has had so far (0 on publish); see DeliveryJobData.a. */
  attemptsMade?: number;
}

export interface FetchedJob {
  id: string;
  /** Where the leased row version is (its ctid): a finished job is deleted by it (see FinishedJob). */
  tid: string;
  shard: number;
  endpointId: string;
  deliveryId: string;
  eventId: string;
  /** Times this job was fetched before (non-zero after a lease expired). */
  retryCount: number;
  manual: boolean;
  singleAttempt: boolean;
  /** DeliveryJobData.a; null on jobs that do not carry it. */
  attemptsMade: number | null;
}

/**
 * A finished job to delete: its id and where its leased row version is. The delete fetches the
 * rows by address (a TID scan, the only plan it has) and keeps those whose id matches: deleting by
 * `name` and `id = ANY(...)` on the primary key was planned, when a partition's statistics said it
 * was tiny, as a walk of every job of the shard with the ids as a filter. A row that moved since
 * (pg-boss expired the lease and the job was taken again) is not deleted here; its next lease
 * finds it finished and drops it.
 */
export interface FinishedJob {
  id: string;
  tid: string;
}

/** What one shard lease asks for: up to `limit` due jobs of each endpoint, oldest first. */
export interface LeaseRequest {
  endpointId: string;
  limit: number;
  /** Walk the endpoint's due jobs from this due time on (epoch ms; absent or null: from the start; see worker/pickFloor.ts). */
  startMs?: number | null;
}

export interface LeaseResult {
  jobs: FetchedJob[];
  /** Per requested endpoint, the earliest waiting job due later (none: absent). */
  nextDueMs: Map<string, number>;
  /** Per endpoint that got jobs, the latest due time among them (epoch ms). */
  lastDueMs: Map<string, number>;
}

/** A job as the lease returns it. */
interface LeasedRow {
  id: string | null;
  tid: string | null;
  data: DeliveryJobData | null;
  retry_count: number | null;
  /** The leased job's start_after (epoch ms, as float8). */
  due_ms: number | null;
  p: string | null;
  next_at: Date | null;
}

/**
 * The delivery queue's statements, on pg-boss 10's tables. pg-boss owns the schema, queue
 * creation, lease expiry and archiving; the hot statements are ours because pg-boss's do not fit a
 * delivery engine (its fetch sorts a queue's whole backlog, it cannot take "at most n from each of
 * these endpoints", and completing writes a job three times where deleting it writes once).
 *
 * Statements on a shard name its partition table directly (`partitionOf`): a statement on the
 * partitioned parent that is not pruned when planned locks every partition with its indexes, and
 * joins over the parent cannot prune at all. Writes of new jobs go through the parent (rows are
 * routed one by one, which costs the same for any number of queues).
 */
export function createDeliveryJobs(sql: Sql, schema = 'pgboss') {
  const job = `${schema}.job`;
  const queueTable = `${schema}.queue`;
  const layout = createDeliveryJobLayout(sql, schema);
  const partitionOf = layout.partitionOf;
  const leaseTexts = new Map<string, string>();

  /** Jobs to write as one JSON document (`[{id, name, data, at}]`): JSON.stringify is native. */
  function enqueueJson(jobs: EnqueueJob[]): string {
    return JSON.stringify(
      jobs.map((j) => {
        const data: DeliveryJobData = { d: j.deliveryId, e: j.eventId, p: j.endpointId };
        if (j.manual) data.m = 1;
        if (j.singleAttempt) data.s = 1;
        if (j.attemptsMade !== undefined) data.a = j.attemptsMade;
        return { id: timeOrderedUuid(), name: shardQueueName(shardOf(j.endpointId)), data, at: j.startAfter ?? null };
      }),
    );
  }

  /** The INSERT of jobs from `source`, a FROM item `x` with columns id, name, data, at (null: now). */
  function insertJobsSql(source: string): string {
    return `INSERT INTO ${job} (id, name, data, start_after, retry_limit, retry_delay, retry_backoff, expire_in, keep_until, policy)
      SELECT x.id, x.name, x.data, COALESCE(x.at, now()), q.retry_limit, q.retry_delay, q.retry_backoff,
             q.expire_seconds * interval '1 second', COALESCE(x.at, now()) + q.retention_minutes * interval '1 minute', q.policy
      FROM ${source}
      JOIN ${queueTable} q ON q.name = x.name`;
  }

  /** The INSERT of the jobs in the JSON document of parameter `param` (see enqueueJson). */
  function enqueueSql(param: string): string {
    return insertJobsSql(`jsonb_to_recordset(${param}::text::jsonb) AS x(id uuid, name text, data jsonb, at timestamptz)`);
  }

  /**
   * One shard's lease: delete finished jobs ($3 and $4: FinishedJob addresses and ids, their
   * attempts committed), then take up to `n`
   * due jobs of each endpoint of $2 (`[{p, n}]`) along the endpoint's own index range (a backlog
   * elsewhere in the shard is never read), mark them active and return them, plus each
   * endpoint's next waiting job due later (so the worker arms a timer instead of polling).
   * The UPDATE takes the picked rows' addresses as an array (`ctid = ANY(ARRAY(...))`, a TID scan,
   * its only plan; the rows are locked by the pick, so they cannot move before it): joined to the
   * CTE instead, the planner hashed the whole partition whenever it guessed the CTE large, and by
   * id it walked the primary key once per job.
   */
  function leaseText(shard: number, withDelete: boolean): string {
    const key = `${shard}:${withDelete ? 1 : 0}`;
    let text = leaseTexts.get(key);
    if (text === undefined) {
      const t = partitionOf(shard);
      text = `WITH ${withDelete ? `removed AS (DELETE FROM ${t} WHERE ctid = ANY($3::tid[]) AND id = ANY($4::uuid[])),` : ''}
        want AS (SELECT * FROM jsonb_to_recordset($2::text::jsonb) AS w(p text, n int, f float8)),
        picked AS (
          SELECT j.tid FROM want w CROSS JOIN LATERAL (
            SELECT ctid AS tid FROM ${t}
            WHERE name = $1 AND (data->>'p') = w.p AND state < 'active' AND start_after <= now()
              AND start_after >= COALESCE(to_timestamp(w.f / 1000), '-infinity'::timestamptz)
            ORDER BY start_after, id LIMIT w.n
            FOR UPDATE SKIP LOCKED) j
        ), leased AS (
          UPDATE ${t} j SET
            state = 'active',
            started_on = now(),
            retry_count = CASE WHEN j.started_on IS NOT NULL THEN j.retry_count + 1 ELSE j.retry_count END
          WHERE j.ctid = ANY(ARRAY(SELECT tid FROM picked))
          RETURNING j.id, j.ctid::text AS tid, j.data, j.retry_count, EXTRACT(EPOCH FROM j.start_after)::float8 * 1000 AS due_ms
        )
        SELECT id, tid, data, retry_count, due_ms, NULL::text AS p, NULL::timestamptz AS next_at FROM leased
        UNION ALL
        SELECT NULL, NULL, NULL, NULL, NULL, w.p,
          (SELECT start_after FROM ${t}
           WHERE name = $1 AND (data->>'p') = w.p AND state < 'active' AND start_after > now()
           ORDER BY start_after, id LIMIT 1)
        FROM want w`;
      leaseTexts.set(key, text);
    }
    return text;
  }

  return {
    queueTable,
    enqueueJson,
    enqueueSql,
    insertJobsSql,
    partitionOf,

    ensureLayout: layout.ensureLayout,
    ensureQueues: layout.ensureQueues,
    ensureIndex: layout.ensureIndex,

    /** Writes one job per delivery in the caller's transaction. */
    async enqueue(tx: Executor, jobs: EnqueueJob[]): Promise<void> {
      if (jobs.length === 0) return;
      await tx.unsafe(enqueueSql('$1'), [enqueueJson(jobs)], { prepare: true });
    },

    /** One shard's lease (see leaseText); `done` are finished jobs of the shard to delete with it. */
    async lease(sqlOutsideTx: Sql, shard: number, requests: LeaseRequest[], done: FinishedJob[]): Promise<LeaseResult> {
      const params: unknown[] = [shardQueueName(shard), JSON.stringify(requests.map((r) => ({ p: r.endpointId, n: r.limit, f: r.startMs ?? null })))];
      if (done.length) params.push(done.map((j) => j.tid), done.map((j) => j.id));
      const rows = await sqlOutsideTx.unsafe<LeasedRow[]>(leaseText(shard, done.length > 0), params as never[], { prepare: true });
      const jobs: FetchedJob[] = [];
      const nextDueMs = new Map<string, number>();
      const lastDueMs = new Map<string, number>();
      for (const r of rows) {
        if (r.id !== null) {
          const job = fetchedJob(shard, r.id, r.tid!, r.data!, r.retry_count!);
          jobs.push(job);
          if (r.due_ms !== null && r.due_ms > (lastDueMs.get(job.endpointId) ?? Number.NEGATIVE_INFINITY)) lastDueMs.set(job.endpointId, r.due_ms);
        } else if (r.next_at) nextDueMs.set(r.p!, new Date(r.next_at).getTime());
      }
      // UPDATE … RETURNING keeps no order; job ids are time-ordered.
      jobs.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
      return { jobs, nextDueMs, lastDueMs };
    },

    /** Deletes finished jobs of one shard (their attempts are committed; see FinishedJob). */
    async remove(sqlOutsideTx: Sql, shard: number, done: FinishedJob[]): Promise<number> {
      if (done.length === 0) return 0;
      const result = await sqlOutsideTx.unsafe(`DELETE FROM ${partitionOf(shard)} WHERE ctid = ANY($1::tid[]) AND id = ANY($2::uuid[])`, [
        done.map((j) => j.tid),
        done.map((j) => j.id),
      ] as never[], { prepare: true });
      return result.count;
    },

    /** Hands leased jobs back unattempted, fetchable from `startAfter` (breaker open, failed load). */
    async requeue(tx: Executor, jobs: { shard: number; jobId: string; startAfter: Date }[]): Promise<number> {
      const groups = new Map<number, { ids: string[]; at: string[] }>();
      for (const j of jobs) {
        let g = groups.get(j.shard);
        if (!g) groups.set(j.shard, (g = { ids: [], at: [] }));
        g.ids.push(j.jobId);
        g.at.push(j.startAfter.toISOString());
      }
      const counts = await Promise.all(
        [...groups].map(async ([shard, g]) => {
          const result = await tx.unsafe(
            `UPDATE ${partitionOf(shard)} j SET state = 'retry', start_after = x.start_after
             FROM unnest($2::uuid[], $3::timestamptz[]) AS x(id, start_after)
             WHERE j.name = $1 AND j.id = ANY($2::uuid[]) AND j.id = x.id AND j.state = 'active'`,
            [shardQueueName(shard), g.ids, g.at] as never[],
            { prepare: true },
          );
          return result.count;
        }),
      );
      return counts.reduce((a, b) => a + b, 0);
    },

    ...createDeliveryJobUpkeep(sql, partitionOf),

    /** Number of shard queues (tests). */
    shardCount: SHARD_COUNT,
  };
}
export type DeliveryJobs = ReturnType<typeof createDeliveryJobs>;

/** A leased row as the worker sees it. */
function fetchedJob(shard: number, id: string, tid: string, data: DeliveryJobData, retryCount: number): FetchedJob {
  return {
    id,
    tid,
    shard,
    endpointId: data.p,
    deliveryId: data.d,
    eventId: data.e,
    retryCount,
    manual: data.m === 1,
    singleAttempt: data.s === 1,
    attemptsMade: typeof data.a === 'number' ? data.a : null,
  };
}
