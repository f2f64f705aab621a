import type { Sql } from 'postgres';
import { LEGACY_QUEUE_PREFIX, shardOf, shardQueueName } from '../queues.js';

/** Advisory lock (two int keys) held while a process moves legacy queues (one mover at a time). */
const UPGRADE_LOCK = [7164021, 4] as const;
/** Legacy queues moved per transaction: each drop holds its partition's locks until commit. */
const QUEUES_PER_TRANSACTION = 25;

const JOB_COLUMNS =
  'id, priority, state, retry_limit, retry_count, retry_delay, retry_backoff, start_after, started_on, singleton_key, singleton_on, expire_in, created_on, completed_on, output, dead_letter, policy';

/**
 * The first version's layout: one pg-boss queue (a partition of `pgboss.job`) per endpoint,
 * `deliver_<endpointId>`. These statements move each such queue's jobs into its endpoint's shard
 * queue, unchanged but for the queue name and the endpoint in `data.p` (same id, state, due time,
 * lease and retry count: the schedule is intact), then drop the old queue, a few queues per
 * transaction so that a crash midway leaves every job in exactly one of the two places.
 */
export function createLegacyQueues(sql: Sql, schema = 'pgboss') {
  const job = `${schema}.job`;
  const queue = `${schema}.queue`;

  return {
    /** Names of the legacy per-endpoint queues still present. */
    async list(): Promise<string[]> {
      const rows = await sql.unsafe<{ name: string }[]>(`SELECT name FROM ${queue} WHERE name LIKE $1 ORDER BY name`, [
        `${LEGACY_QUEUE_PREFIX.replace('_', '\\_')}%`,
      ]);
      return rows.map((r) => r.name);
    },

    /** Sessions holding a lock of the given class in this database (workers of a given version). */
    async sessionsHolding(lockClass: number): Promise<number> {
      const [row] = await sql<{ n: number }[]>`
        SELECT count(DISTINCT pid)::int AS n FROM pg_locks
        WHERE locktype = 'advisory' AND classid = ${lockClass} AND granted
          AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`;
      return row?.n ?? 0;
    },

    /**
     * Moves `names` (legacy queues) into the shard queues, QUEUES_PER_TRANSACTION at a time, then
     * forgets them. Returns the number of jobs moved. Safe to run again after a crash.
     *
     * Why not pg-boss's delete_queue: deleting a row of `pgboss.queue` fires the foreign-key check
     * of every partition of `pgboss.job` (each has its own copy of the constraint), which with
     * thousands of per-endpoint partitions runs out of lock memory, exactly what this layout
     * change is for. So each queue's partition is dropped (that checks nothing) and the queue rows
     * go once only the shard partitions are left.
     */
    async move(names: string[]): Promise<number> {
      let moved = 0;
      for (let i = 0; i < names.length; i += QUEUES_PER_TRANSACTION) {
        const chunk = names.slice(i, i + QUEUES_PER_TRANSACTION);
        moved += await sql.begin(async (tx) => {
          await tx.unsafe(`SELECT pg_advisory_xact_lock(${UPGRADE_LOCK[0]}, ${UPGRADE_LOCK[1]})`);
          // Dropping a partition locks the parent: taken first, so a concurrent publish waits
          // instead of deadlocking.
          await tx.unsafe(`SET LOCAL lock_timeout = '30s'`);
          await tx.unsafe(`LOCK TABLE ONLY ${job} IN ACCESS EXCLUSIVE MODE`);
          let count = 0;
          const drop: string[] = [];
          for (const name of chunk) {
            const [row] = await tx.unsafe<{ partition: string | null }[]>(
              `SELECT CASE WHEN to_regclass(format('%I.%I', $2::text, partition_name)) IS NOT NULL THEN partition_name END AS partition
               FROM ${queue} WHERE name = $1`,
              [name, schema],
            );
            if (!row?.partition) continue; // moved before a crash; only its queue row is left
            const partition = `${schema}."${row.partition}"`;
            const endpointId = name.slice(LEGACY_QUEUE_PREFIX.length);
            const shard = shardQueueName(shardOf(endpointId));
            // Only jobs that may still run: pg-boss keeps completed/failed ones until archiving,
            // and the engine never left any there (it deletes finished jobs).
            const result = await tx.unsafe(
              `INSERT INTO ${job} (name, data, keep_until, ${JOB_COLUMNS})
               SELECT $1, data || jsonb_build_object('p', $2::text), start_after + q.retention_minutes * interval '1 minute', ${JOB_COLUMNS
                 .split(', ')
                 .map((c) => `o.${c}`)
                 .join(', ')}
               FROM ${partition} o JOIN ${queue} q ON q.name = $1
               WHERE o.state <= 'active'`,
              [shard, endpointId],
            );
            count += result.count;
            drop.push(partition);
          }
          // One statement for the chunk: every drop makes Postgres rebuild the parent's list of
          // partitions (thousands of them) at its next use.
          if (drop.length) await tx.unsafe(`DROP TABLE ${drop.join(', ')}`);
          return count;
        });
      }
      // Only the shard partitions are left: deleting the queue rows checks a handful of them.
      await sql.unsafe(
        `DELETE FROM ${queue} q WHERE q.name LIKE $1 AND to_regclass(format('%I.%I', $2::text, q.partition_name)) IS NULL`,
        [`${LEGACY_QUEUE_PREFIX.replace('_', '\\_')}%`, schema],
      );
      return moved;
    },

    /** The first version's FIFO index on every partition, unused by the shard layout. */
    async dropLegacyIndex(): Promise<void> {
      await sql.unsafe(`DROP INDEX IF EXISTS ${schema}.job_fifo_idx`);
    },
  };
}
