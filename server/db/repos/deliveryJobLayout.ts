import type { Sql } from 'postgres';
import { DELIVERY_QUEUE_OPTIONS, MAINTENANCE_QUEUE_OPTIONS, MAINTENANCE_QUEUES, SHARD_QUEUE_NAMES } from '../queues.js';

/** Advisory lock (two int keys) serialising the layout's DDL between processes starting together. */
const LAYOUT_LOCK = [7164021, 3] as const;
/** Waiting jobs by endpoint and due time: the lease, next-due and discovery all walk it. */
export const ENDPOINT_DUE_INDEX = 'job_endpoint_due_idx';
/** pg-boss 10's foreign keys from `job.name` and `job.dead_letter` to `queue.name`, dropped by ensureIndex. */
export const QUEUE_FOREIGN_KEYS = ['q_fkey', 'dlq_fkey'] as const;

/**
 * The delivery queue's layout on pg-boss 10's tables: the shard queues and their partition
 * tables, the endpoint index every lease walks, and what of pg-boss's own layout the delivery
 * path does without (the shards' fetch indexes, the foreign keys to the queue table). DDL, run
 * at start-up by every process (ensureLayout), one process at a time.
 */
export function createDeliveryJobLayout(sql: Sql, schema = 'pgboss') {
  const job = `${schema}.job`;
  const queueTable = `${schema}.queue`;
  /** Partition table of each shard queue, read once by `ensureQueues` (pg-boss names them). */
  let partitions: string[] = [];
  /** pg-boss's fetch index of each shard partition (dropped by ensureIndex). */
  let shardFetchIndexes: string[] = [];

  const layout = {
    /** Partition table of a shard (its statements name it directly; see deliveryJobs.ts). */
    partitionOf(shard: number): string {
      const table = partitions[shard];
      if (!table) throw new Error('delivery queue layout not loaded (ensureLayout not called)');
      return table;
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

    /**
     * Creates the shard queues and the endpoint index (idempotent; several processes may start at
     * once) and learns each shard's partition table. On a first-version database the legacy
     * queues must be moved (queueUpgrade.ts) between `ensureQueues` and `ensureIndex`: an index
     * built on the parent then touches every partition in one statement, and with thousands of
     * per-endpoint partitions that runs out of lock memory.
     */
    async ensureLayout(): Promise<void> {
      await layout.ensureQueues();
      await layout.ensureIndex();
    },
  };
  return layout;
}
