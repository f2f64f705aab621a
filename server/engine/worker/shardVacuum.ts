import type { Sql } from 'postgres';
import type { Logger } from '../../logger.js';

/** Finished jobs of one endpoint between two vacuums of its shard's partition. */
export const JOBS_PER_VACUUM = 4_000;
/** Shortest pause between two vacuums of one partition. */
export const MIN_VACUUM_INTERVAL_MS = 2_000;
/**
 * Endpoints counted per shard before the thinly used ones are forgotten: with 100,000 endpoints
 * each receiving a delivery now and then, no count ever reaches a vacuum, and the counts would
 * otherwise grow with every endpoint that ever finished a job.
 */
const MAX_COUNTED_ENDPOINTS = 1_000;

/**
 * Vacuums the job partition of a shard once this worker has finished enough jobs of one of its
 * endpoints.
 *
 * Why: every leased job leaves a dead entry at the front of its endpoint's range in the due index
 * (the lease moves it out of `state < 'active'`, the delete follows), and a lease walks from the
 * front of the range: over every entry left since the partition's last vacuum. Autovacuum comes to
 * a database at most once a minute and then works through the large history tables too; in a
 * 60 s throughput run at 10 endpoints it never reached the job partitions, and a lease's walk grew
 * from 8 to 571 buffers per endpoint (1.2 → 65 per job leased). Vacuumed every few thousand jobs
 * the walk stays at ~30 buffers.
 *
 * The count is per endpoint because the walk is: a shard of 6 endpoints sharing the same jobs
 * leaves each range a sixth as long, and a vacuum (which reads every index of the partition)
 * costs more than it saves there (throughput at 100 endpoints, a vacuum every 4,000 jobs of the
 * shard: Postgres CPU per delivery 0.15–0.16 against 0.13–0.16 ms without). `SKIP_LOCKED`: a partition autovacuum (or another worker) is
 * vacuuming is left for the next turn; `INDEX_CLEANUP ON`: the index entries are the point, and
 * Postgres would otherwise skip the indexes when few heap pages hold dead rows; `TRUNCATE OFF`:
 * the partition's tail empties and fills again all the time, and giving the empty pages back takes
 * an ACCESS EXCLUSIVE lock that every publish and lease of the shard would queue behind (for up to
 * 20 ms at a time), only for the next inserts to extend the file again.
 *
 * One vacuum at a time per process, on a connection of its own (`sql`): the worker's pools
 * pipeline statements, and a vacuum would hold up the leases and records queued behind it.
 */
export function createShardVacuum(deps: {
  sql: Sql;
  /** The shard's partition table (DeliveryJobs.partitionOf). */
  tableOf(shard: number): string;
  log: Logger;
  jobsPerVacuum?: number;
  minIntervalMs?: number;
}) {
  const { sql, log } = deps;
  const jobsPerVacuum = deps.jobsPerVacuum ?? JOBS_PER_VACUUM;
  const minIntervalMs = deps.minIntervalMs ?? MIN_VACUUM_INTERVAL_MS;
  /** Per shard: finished jobs since its last vacuum, by endpoint. */
  const finishedSince = new Map<number, Map<string, number>>();
  /** Per shard: the most finished jobs of one of its endpoints since its last vacuum. */
  const busiest = new Map<number, number>();
  const lastVacuumAt = new Map<number, number>();
  let running: Promise<void> | null = null;
  let timer: NodeJS.Timeout | null = null;
  let stopped = false;
  let vacuums = 0;

  /** Shards over the threshold, and when the next one of them may be vacuumed. */
  function due(nowMs: number): { now: number[]; nextAtMs: number | null } {
    const now: number[] = [];
    let nextAtMs: number | null = null;
    for (const [shard, count] of busiest) {
      if (count < jobsPerVacuum) continue;
      const at = (lastVacuumAt.get(shard) ?? -Infinity) + minIntervalMs;
      if (at <= nowMs) now.push(shard);
      else if (nextAtMs === null || at < nextAtMs) nextAtMs = at;
    }
    return { now, nextAtMs };
  }

  async function run(): Promise<void> {
    for (;;) {
      if (stopped) return;
      const { now, nextAtMs } = due(Date.now());
      if (now.length === 0) {
        if (nextAtMs !== null && !timer) timer = setTimeout(wake, Math.max(0, nextAtMs - Date.now()));
        return;
      }
      for (const shard of now) {
        if (stopped) return;
        finishedSince.delete(shard);
        busiest.delete(shard);
        lastVacuumAt.set(shard, Date.now());
        const started = performance.now();
        try {
          await sql.unsafe(`VACUUM (SKIP_LOCKED, INDEX_CLEANUP ON, TRUNCATE OFF) ${deps.tableOf(shard)}`);
          vacuums++;
          log.debug({ shard, ms: Math.round(performance.now() - started) }, 'job partition vacuumed');
        } catch (err) {
          // Nothing is lost: the leases only walk further until the next vacuum (or autovacuum).
          log.warn({ err: (err as Error).message, shard }, 'could not vacuum a job partition');
        }
      }
    }
  }

  /** Drops the endpoints far from a vacuum (their ranges are short), keeping the busy ones. */
  function forgetThin(byEndpoint: Map<string, number>): void {
    const floor = Math.max(1, Math.floor(jobsPerVacuum / 100));
    for (const [endpointId, total] of byEndpoint) if (total < floor) byEndpoint.delete(endpointId);
  }

  function wake(): void {
    timer = null;
    if (running || stopped) return;
    running = run().finally(() => {
      running = null;
    });
  }

  return {
    /** `count` jobs of `endpointId` (in `shard`) were finished (deleted within a lease or 200 ms). */
    finished(shard: number, endpointId: string, count: number): void {
      if (stopped || count <= 0) return;
      let byEndpoint = finishedSince.get(shard);
      if (!byEndpoint) finishedSince.set(shard, (byEndpoint = new Map()));
      const total = (byEndpoint.get(endpointId) ?? 0) + count;
      byEndpoint.set(endpointId, total);
      if (total > (busiest.get(shard) ?? 0)) busiest.set(shard, total);
      if (byEndpoint.size > MAX_COUNTED_ENDPOINTS) forgetThin(byEndpoint);
      if (total >= jobsPerVacuum && !timer) wake();
    },
    /** Vacuums run so far (tests, diagnostics). */
    vacuums: () => vacuums,
    /** Endpoints whose finished jobs are being counted (tests: the counts stay bounded). */
    countedEndpoints: () => [...finishedSince.values()].reduce((n, m) => n + m.size, 0),
    /** Waits for a vacuum in progress; none starts afterwards. */
    async stop(): Promise<void> {
      stopped = true;
      if (timer) clearTimeout(timer);
      timer = null;
      await running;
    },
  };
}
export type ShardVacuum = ReturnType<typeof createShardVacuum>;
