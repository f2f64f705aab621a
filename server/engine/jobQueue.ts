import { createHash } from 'node:crypto';
import type { Sql, TransactionSql } from 'postgres';
import { pooledRandom } from '../crypto/random.js';
import { DELIVERY_QUEUE_OPTIONS, DELIVERY_QUEUE_PREFIX, deliveryQueueName, endpointIdOfQueue, type DeliveryJobData } from './jobs.js';

type Executor = Sql | TransactionSql;

/** Advisory lock (two int keys) serialising queue creation and deletion. */
const QUEUE_DDL_LOCK = [7164021, 3] as const;
/** How long dropping a queue waits for each table lock before backing off (see dropEndpointQueue). */
const DROP_LOCK_WAIT_MS = 200;
/** Attempts of one drop; after them the maintenance job drops the queue later (orphanedQueues). */
const DROP_ATTEMPTS = 50;

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
 * The delivery queue on pg-boss 10's tables. pg-boss creates and maintains the schema, the
 * per-queue partitions (`create_queue`/`delete_queue`), lease expiry and archiving; this module
 * owns the four hot statements, written against pg-boss 10's `job` table because its own
 * versions do not fit a delivery engine:
 * - enqueue: one bulk insert from a JSON document (publishing inlines it in its own statement),
 *   joined with the queue table so a job whose endpoint queue vanished (deleted endpoint) is not
 *   written; pg-boss's `insert()` serialises JSON and returns nothing.
 * - lease (fetch): pg-boss orders `priority, created_on, id` through an index on
 *   `(name, start_after)`, which sorts the whole backlog on every fetch; ours walks
 *   `job_fifo_idx` in order and stops after `limit`. Job ids are time-ordered UUIDs, so jobs
 *   written by one transaction (same `created_on`) still come out in publish order.
 * - remove: finished jobs are deleted (not completed, archived and then deleted by maintenance:
 *   three writes instead of one), by the worker's next lease of the queue once the attempt is
 *   committed (see Worker).
 * - releaseActive: when a worker takes over an endpoint from a dead one it makes that worker's
 *   leased jobs fetchable at once rather than after lease expiry.
 * Hot statements name their queue with `name = $n` (a parameter or a literal, not a join):
 * Postgres then plans for that one partition. A statement joining the job table on names from an
 * array is planned (and, with a generic plan, locked) across every partition, i.e. every endpoint
 * in the database: with 300 queues ~20 ms per call instead of ~0.1 ms; `name = ANY(array)`
 * prunes to the listed queues only when the array is not empty. Several queues mean several
 * statements, or several CTEs in one statement (see fetchRound.ts).
 * test/integration/jobQueue.test.ts pins these to pg-boss's behaviour (lease expiry through
 * pg-boss maintenance, queue creation and deletion).
 */
export function createJobQueue(sql: Sql, schema = 'pgboss') {
  const job = `${schema}.job`;
  const queue = `${schema}.queue`;
  const queueOptions = JSON.stringify(DELIVERY_QUEUE_OPTIONS);

  /**
   * Jobs to write as one JSON document (`[{id, name, data, at}]`): JSON.stringify is native,
   * while text arrays of JSON make postgres.js escape every quote in JavaScript.
   */
  function enqueueJson(jobs: EnqueueJob[]): string {
    return JSON.stringify(
      jobs.map((j) => {
        const data: DeliveryJobData = { d: j.deliveryId, e: j.eventId };
        if (j.manual) data.m = 1;
        if (j.singleAttempt) data.s = 1;
        if (j.attemptsMade !== undefined) data.a = j.attemptsMade;
        return { id: timeOrderedUuid(), name: deliveryQueueName(j.endpointId), data, at: j.startAfter ?? null };
      }),
    );
  }

  /**
   * The INSERT of the jobs in the JSON document of parameter `param`, with their queue's options;
   * a job whose queue is gone (endpoint deleted) is not written. Rows are routed to their
   * partitions one by one, so unlike reads and updates this plans the same for any number of queues.
   */
  function enqueueSql(param: string): string {
    return insertJobsSql(`jsonb_to_recordset(${param}::text::jsonb) AS x(id uuid, name text, data jsonb, at timestamptz)`);
  }

  /** The INSERT of jobs from `source`, a FROM item `x` with columns id, name, data, at (null: now). */
  function insertJobsSql(source: string): string {
    return `INSERT INTO ${job} (id, name, data, start_after, retry_limit, retry_delay, retry_backoff, expire_in, keep_until, policy)
      SELECT x.id, x.name, x.data, COALESCE(x.at, now()), q.retry_limit, q.retry_delay, q.retry_backoff,
             q.expire_seconds * interval '1 second', COALESCE(x.at, now()) + q.retention_minutes * interval '1 minute', q.policy
      FROM ${source}
      JOIN ${queue} q ON q.name = x.name`;
  }

  /**
   * Two CTEs leasing up to `limit` due jobs of one endpoint, oldest first: `<alias>_next` picks
   * them along job_fifo_idx, `<alias>` marks them active and returns (name, id, data, retry_count).
   * The queue name must be a parameter or literal (not a join): see the module comment.
   */
  function leaseCtes(alias: string, nameParam: string, limitParam: string, table = job): string {
    return `${alias}_next AS (
        SELECT id FROM ${table}
        WHERE name = ${nameParam} AND state < 'active' AND start_after <= now()
        ORDER BY created_on, id
        LIMIT ${limitParam}
        FOR UPDATE SKIP LOCKED
      ), ${alias} AS (
        UPDATE ${table} j SET
          state = 'active',
          started_on = now(),
          retry_count = CASE WHEN j.started_on IS NOT NULL THEN j.retry_count + 1 ELSE j.retry_count END
        FROM ${alias}_next n WHERE j.name = ${nameParam} AND j.id = n.id
        RETURNING j.name, j.id, j.data, j.retry_count
      )`;
  }

  /** The DELETE of finished jobs of one queue (name and job ids as parameters). */
  function removeSql(nameParam: string, idsParam: string, table = job): string {
    return `DELETE FROM ${table} WHERE name = ${nameParam} AND id = ANY(${idsParam}::uuid[])`;
  }

  const partitions = new Map<string, string>();
  /**
   * The partition table of an endpoint's queue, named like pg-boss's create_queue names it
   * ('j' || sha224 of the queue name, hex). Statements on the partition itself are plain
   * single-table statements, cheap to plan, with none of the partition pruning and locking that
   * statements on the partitioned parent pay on every execution.
   */
  function partitionTable(endpointId: string): string {
    let table = partitions.get(endpointId);
    if (table === undefined) {
      table = `${schema}."j${createHash('sha224').update(deliveryQueueName(endpointId)).digest('hex')}"`;
      partitions.set(endpointId, table);
    }
    return table;
  }

  /**
   * Deletes finished jobs of one endpoint (outside a transaction: on a queue dropped meanwhile
   * the statement fails, which here means there is nothing left to delete).
   */
  async function remove(sqlOutsideTx: Sql, endpointId: string, jobIds: string[]): Promise<number> {
    if (jobIds.length === 0) return 0;
    try {
      const result = await sqlOutsideTx.unsafe(removeSql('$1', '$2', partitionTable(endpointId)), [deliveryQueueName(endpointId), jobIds] as never[], {
        prepare: true,
      });
      return result.count;
    } catch (err) {
      if (isMissingTable(err)) return 0;
      throw err;
    }
  }

  return {
    /** Adds the FIFO index to pg-boss's partitioned job table (propagates to every partition). */
    async ensureIndexes(): Promise<void> {
      await sql.unsafe(
        `CREATE INDEX IF NOT EXISTS job_fifo_idx ON ${job} (name, created_on, id) WHERE state < 'active'`,
      );
    },

    /** Creates the endpoint's queue (a partition) inside the caller's transaction. */
    async createEndpointQueue(tx: Executor, endpointId: string): Promise<void> {
      // Two create_queue calls at once deadlock on the parent table (each attaches a partition
      // after creating its table), so queue creation is serialised for the rest of the transaction.
      await tx.unsafe(`SELECT pg_advisory_xact_lock(${QUEUE_DDL_LOCK[0]}, ${QUEUE_DDL_LOCK[1]})`);
      // Typed text, not json: postgres.js would JSON-encode the string a second time for a json parameter.
      await tx.unsafe(`SELECT ${schema}.create_queue($1, $2::text::json)`, [deliveryQueueName(endpointId), queueOptions]);
    },

    /**
     * Drops the endpoint's queue and every job in it, in a transaction of its own: dropping a
     * partition locks the whole job table, so doing it while holding other row locks (the
     * endpoint's, its deliveries') could deadlock with a worker recording attempts. Idempotent.
     */
    async dropEndpointQueue(endpointId: string): Promise<void> {
      const name = deliveryQueueName(endpointId);
      // The drop needs the job table and the queue table exclusively, and statements that write
      // jobs take them in either order (a publish reads the queue table, then inserts jobs; other
      // inserts take the job table, then check the queue row). Whichever order the drop chose, it
      // deadlocked with some of them, and Postgres cancelled the one that had waited longest: a
      // publish of any organization (measured: 15 deletes during another organization's
      // publishing failed 42 of its publishes). So the drop never waits long for a lock: it gives
      // up after DROP_LOCK_WAIT, which is before the deadlock check (deadlock_timeout, 1 s by
      // default) can cancel anyone else, and tries again.
      for (let attempt = 1; ; attempt++) {
        try {
          await sql.begin(async (tx) => {
            await tx.unsafe(`SELECT pg_advisory_xact_lock(${QUEUE_DDL_LOCK[0]}, ${QUEUE_DDL_LOCK[1]})`);
            const [exists] = await tx.unsafe(`SELECT 1 FROM ${queue} WHERE name = $1`, [name]);
            if (!exists) return;
            await tx.unsafe(`SET LOCAL lock_timeout = '${DROP_LOCK_WAIT_MS}ms'`);
            await tx.unsafe(`LOCK TABLE ${queue} IN ACCESS EXCLUSIVE MODE`);
            await tx.unsafe(`LOCK TABLE ONLY ${job} IN ACCESS EXCLUSIVE MODE`);
            // pg-boss's delete_queue fails while jobs still reference the queue (ON DELETE RESTRICT).
            await tx.unsafe(`DELETE FROM ${job} WHERE name = $1`, [name]);
            await tx.unsafe(`SELECT ${schema}.delete_queue($1)`, [name]);
          });
          return;
        } catch (err) {
          if ((err as { code?: string }).code !== '55P03' || attempt >= DROP_ATTEMPTS) throw err;
          await new Promise((resolve) => setTimeout(resolve, 50 + Math.random() * 100 * attempt));
        }
      }
    },

    /** Queues of endpoints deleted earlier whose drop did not happen (crash, database outage). */
    async orphanedQueues(): Promise<string[]> {
      const rows = await sql.unsafe<{ id: string }[]>(
        `SELECT e.id FROM endpoints e JOIN ${queue} q ON q.name = '${DELIVERY_QUEUE_PREFIX}' || e.id WHERE e.deleted_at IS NOT NULL`,
      );
      return rows.map((r) => r.id);
    },

    /**
     * Writes one job per delivery in the caller's transaction. Returns the ids of deliveries whose
     * job was written; a delivery missing from the result had no queue (its endpoint was deleted).
     */
    async enqueue(tx: Executor, jobs: EnqueueJob[]): Promise<Set<string>> {
      if (jobs.length === 0) return new Set();
      const rows = await tx.unsafe<{ d: string }[]>(`${enqueueSql('$1')} RETURNING data->>'d' AS d`, [enqueueJson(jobs)], { prepare: true });
      return new Set(rows.map((r) => r.d));
    },

    enqueueSql,
    enqueueJson,
    insertJobsSql,
    /** The queue table (publishing checks in the same statement which endpoint queues exist). */
    queueTable: queue,

    leaseCtes,

    removeSql,

    partitionTable,

    /** Forgets cached names of a deleted endpoint's partition. */
    forgetPartition: (endpointId: string) => partitions.delete(endpointId),

    /** Leases up to `limit` due jobs of one endpoint, oldest first. */
    async fetch(endpointId: string, limit: number): Promise<FetchedJob[]> {
      const rows = await sql.unsafe<LeasedRow[]>(`WITH ${leaseCtes('leased', '$1', '$2')} SELECT name, id, data, retry_count FROM leased`, [
        deliveryQueueName(endpointId),
        limit,
      ], { prepare: true });
      return rows.map(leasedJob).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    },

    remove,

    /** Deletes finished jobs of several endpoints: one pipelined statement per endpoint. */
    async removeMany(sqlOutsideTx: Sql, jobs: { endpointId: string; jobId: string }[]): Promise<number> {
      const counts = await Promise.all([...byEndpoint(jobs)].map(([endpointId, ids]) => remove(sqlOutsideTx, endpointId, ids)));
      return counts.reduce((a, b) => a + b, 0);
    },

    /** Hands leased jobs back unattempted, fetchable from `startAfter` (breaker open). */
    async requeue(tx: Executor, jobs: { endpointId: string; jobId: string; startAfter: Date }[]): Promise<number> {
      const groups = new Map<string, { ids: string[]; at: string[] }>();
      for (const j of jobs) {
        let g = groups.get(j.endpointId);
        if (!g) groups.set(j.endpointId, (g = { ids: [], at: [] }));
        g.ids.push(j.jobId);
        g.at.push(j.startAfter.toISOString());
      }
      const counts = await Promise.all(
        [...groups].map(async ([endpointId, g]) => {
          // On the parent table: inside the recorder's transaction a queue dropped meanwhile must
          // mean no rows, not an error (a partition statement would fail and abort the batch).
          const result = await tx.unsafe(
            `UPDATE ${job} j SET state = 'retry', start_after = x.start_after
             FROM unnest($2::uuid[], $3::timestamptz[]) AS x(id, start_after)
             WHERE j.name = $1 AND j.id = x.id AND j.state = 'active'`,
            [deliveryQueueName(endpointId), g.ids, g.at] as never[],
            { prepare: true },
          );
          return result.count;
        }),
      );
      return counts.reduce((a, b) => a + b, 0);
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
      const result = new Map<string, Date>();
      // One branch per queue, each naming it (planned for its one partition) and reading the
      // first entry of its (name, start_after) index rather than aggregating a whole backlog.
      const query = async (chunk: string[]) => {
        const rows = await sql.unsafe<{ i: number; due: Date | null }[]>(
          chunk
            .map(
              (id, n) =>
                `SELECT ${n} AS i, (SELECT start_after FROM ${partitionTable(id)} WHERE name = $${n + 1} AND state < 'active' ORDER BY start_after LIMIT 1) AS due`,
            )
            .join(' UNION ALL '),
          chunk.map(deliveryQueueName),
        );
        for (const r of rows) if (r.due) result.set(chunk[r.i]!, new Date(r.due));
      };
      for (let i = 0; i < endpointIds.length; i += 32) {
        const chunk = endpointIds.slice(i, i + 32);
        try {
          await query(chunk);
        } catch (err) {
          if (!isMissingTable(err)) throw err;
          // A queue of the chunk was dropped meanwhile (its endpoint deleted): ask one by one.
          for (const id of chunk) await query([id]).catch((e) => (isMissingTable(e) ? undefined : Promise.reject(e)));
        }
      }
      return result;
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

/** A row returned by the lease CTEs. */
export interface LeasedRow {
  name: string;
  id: string;
  data: DeliveryJobData;
  retry_count: number;
}

/** A leased row as the worker sees it. */
export function leasedJob(r: LeasedRow): FetchedJob {
  return {
    id: r.id,
    endpointId: endpointIdOfQueue(r.name),
    deliveryId: r.data.d,
    eventId: r.data.e,
    retryCount: r.retry_count,
    manual: r.data.m === 1,
    singleAttempt: r.data.s === 1,
    attemptsMade: typeof r.data.a === 'number' ? r.data.a : null,
  };
}

function byEndpoint(jobs: { endpointId: string; jobId: string }[]): Map<string, string[]> {
  const groups = new Map<string, string[]>();
  for (const j of jobs) {
    const ids = groups.get(j.endpointId);
    if (ids) ids.push(j.jobId);
    else groups.set(j.endpointId, [j.jobId]);
  }
  return groups;
}

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
  const bytes = Buffer.from(pooledRandom(16));
  bytes.writeUIntBE(now, 0, 6);
  bytes[6] = 0x70 | (sequence >> 8);
  bytes[7] = sequence & 0xff;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** Postgres's undefined_table: a statement naming the partition of a queue dropped meanwhile. */
export function isMissingTable(err: unknown): boolean {
  return (err as { code?: string } | null)?.code === '42P01';
}
