import type { Sql, TransactionSql } from 'postgres';
import { timeOrderedUuid } from '../../crypto/uuid.js';
import { DELIVERY_QUEUE_OPTIONS, MAINTENANCE_QUEUE_OPTIONS, MAINTENANCE_QUEUES, SHARD_COUNT, SHARD_QUEUE_NAMES, shardOf, shardQueueName, type DeliveryJobData } from '../queues.js';
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

/** Advisory lock (two int keys) serialising the layout's DDL between processes starting together. */
const LAYOUT_LOCK = [7164021, 3] as const;
/** Waiting jobs by endpoint and due time: the lease, next-due and discovery all walk it. */
export const ENDPOINT_DUE_INDEX = 'job_endpoint_due_idx';
/** pg-boss 10's foreign keys from `job.name` and `job.dead_letter` to `queue.name`, dropped by ensureIndex. */
export const QUEUE_FOREIGN_KEYS = ['q_fkey', 'dlq_fkey'] as const;

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
  /** Partition table of each shard queue, read once by `ensureLayout` (pg-boss names them). */
  let partitions: string[] = [];
  /** pg-boss's fetch index of each shard partition (dropped by ensureIndex). */
  let shardFetchIndexes: string[] = [];
  const leaseTexts = new Map<string, string>();

  const partitionOf = (shard: number): string => {
    const table = partitions[shard];
    if (!table) throw new Error('delivery queue layout not loaded (ensureLayout not called)');
    return table;
  };

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

    /**
     * Creates the shard queues and the endpoint index (idempotent; several processes may start at
     * once) and learns each shard's partition table. On a first-version database the legacy
     * queues must be moved (queueUpgrade.ts) between `ensureQueues` and `ensureIndex`: an index
     * built on the parent then touches every partition in one statement, and with thousands of
     * per-endpoint partitions that runs out of lock memory.
     */
    async ensureLayout(): Promise<void> {
      await this.ensureQueues();
      await this.ensureIndex();
    },

    /**
     * The shard queues (pg-boss create_queue, one partition each) and their partition tables, and
     * the maintenance queues: every queue the service creates, one process at a time (concurrent
     * create_queue calls deadlock on pg-boss's tables; seen with two workers starting together).
     */
    async ensureQueues(): Promise<void> {
      const queues: [name: string, options: string][] = [
        ...SHARD_QUEUE_NAMES.map((name): [string, string] => [name, JSON.stringify(DELIVERY_QUEUE_OPTIONS)]),
        ...Object.values(MAINTENANCE_QUEUES).map(({ name }): [string, string] => [name, JSON.stringify(MAINTENANCE_QUEUE_OPTIONS)]),
      ];
      await sql.begin(async (tx) => {
        await tx.unsafe(`SELECT pg_advisory_xact_lock(${LAYOUT_LOCK[0]}, ${LAYOUT_LOCK[1]})`);
        // Typed text, not json: postgres.js would JSON-encode the string a second time.
        for (const [name, options] of queues) await tx.unsafe(`SELECT ${schema}.create_queue($1, $2::text::json)`, [name, options]);
        await tx.unsafe(`UPDATE ${queueTable} SET retention_minutes = $2 WHERE name = ANY($1::text[]) AND retention_minutes <> $2`, [
          SHARD_QUEUE_NAMES as string[],
          DELIVERY_QUEUE_OPTIONS.retentionMinutes,
        ] as never[]);
      });
      const rows = await sql.unsafe<{ name: string; partition_name: string }[]>(
        `SELECT name, partition_name FROM ${queueTable} WHERE name = ANY($1::text[])`,
        [SHARD_QUEUE_NAMES as string[]] as never[],
      );
      const partitionNames = new Map(rows.map((r) => [r.name, r.partition_name]));
      partitions = SHARD_QUEUE_NAMES.map((n) => `${schema}."${partitionNames.get(n)!}"`);
      shardFetchIndexes = SHARD_QUEUE_NAMES.map((n) => `${schema}."${partitionNames.get(n)!}_i5"`);
    },

    /** The endpoint index on every partition (see ensureLayout for when). */
    async ensureIndex(): Promise<void> {
      await sql.begin(async (tx) => {
        await tx.unsafe(`SELECT pg_advisory_xact_lock(${LAYOUT_LOCK[0]}, ${LAYOUT_LOCK[1]})`);
        await tx.unsafe(
          `CREATE INDEX IF NOT EXISTS ${ENDPOINT_DUE_INDEX} ON ${job} (name, (data->>'p'), start_after, id) WHERE state < 'active'`,
        );
        // pg-boss's own fetch index (name, start_after) INCLUDE (priority, created_on, id) serves
        // its fetch, which never runs on a shard queue (the lease walks the endpoint index): on
        // the shards it was one more wide entry written per delivery for nothing.
        for (const index of shardFetchIndexes) await tx.unsafe(`DROP INDEX IF EXISTS ${index}`);
        // pg-boss's deferred foreign keys from every job to a queue row (create_queue adds them to
        // each partition, and to the parent): at commit, one RI check per inserted job for the
        // queue (an index probe and a FOR KEY SHARE lock of the queue row, taken by every
        // concurrent publisher: MultiXacts) and one queued trigger event per job for the
        // dead-letter queue, null in every job here. 1,000 jobs inserted ~40% slower with them.
        // The LIST partitioning by queue name already refuses a job whose queue has no partition,
        // pg-boss drops a queue's partition with its row, and no queue here has a pg-boss
        // dead-letter queue (dead letters are deliveries). Looked up first: ALTER TABLE locks the
        // table even when there is nothing to drop. Only constraints of their own (a clone of the
        // parent's, conparentid set, goes with the parent's).
        const present = await tx.unsafe<{ rel: string; conname: string }[]>(
          `SELECT c.conrelid::regclass::text AS rel, c.conname FROM pg_constraint c
            WHERE c.contype = 'f' AND c.conparentid = 0 AND c.conname = ANY($1::text[])
              AND c.conrelid IN (SELECT '${job}'::regclass UNION ALL SELECT inhrelid FROM pg_inherits WHERE inhparent = '${job}'::regclass)`,
          [QUEUE_FOREIGN_KEYS as unknown as string[]] as never[],
        );
        for (const { rel, conname } of present) await tx.unsafe(`ALTER TABLE ${rel} DROP CONSTRAINT ${conname}`);
      });
    },

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
