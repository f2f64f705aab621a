import type { Sql } from 'postgres';
import type { Logger } from '../../logger.js';
import type { DeliveryJobs, FinishedJob } from '../../db/repos/deliveryJobs.js';

/** Longest a finished job waits for a lease of its shard to delete it. */
const FLUSH_MS = 200;

/**
 * Finished jobs are deleted only after their outcome commits, by the next lease statement of their
 * shard (no statement of their own), or by a flush when no lease comes soon. Until then a job
 * stays leased: if the process dies, the job is leased again and recognised as finished (its
 * delivery no longer pending, or its attempt count moved past the job's), so it is dropped
 * without sending.
 */
export function createFinishedJobs(deps: { sql: Sql; jobs: DeliveryJobs; log: Logger; leasing(shard: number): boolean }) {
  const { sql, jobs, log } = deps;
  const byShard = new Map<number, FinishedJob[]>();
  let timer: NodeJS.Timeout | null = null;
  let stopped = false;

  function add(shard: number, done: FinishedJob[]): void {
    if (done.length === 0) return;
    const list = byShard.get(shard);
    if (list) list.push(...done);
    else byShard.set(shard, [...done]);
    if (!timer && !stopped) timer = setTimeout(() => void flush(), FLUSH_MS);
  }

  /** Deletes what no lease has taken along; shards with a lease running wait for it. */
  async function flush(all = false): Promise<void> {
    if (timer) clearTimeout(timer);
    timer = null;
    const work = [...byShard].filter(([shard, ids]) => ids.length > 0 && (all || !deps.leasing(shard)));
    for (const [shard] of work) byShard.delete(shard);
    const results = await Promise.allSettled(work.map(([shard, ids]) => jobs.remove(sql, shard, ids)));
    results.forEach((r, i) => {
      if (r.status === 'fulfilled') return;
      // Kept for the next flush; if this process dies first, the jobs are recognised as finished.
      const [shard, ids] = work[i]!;
      add(shard, ids);
      log.warn({ err: (r.reason as Error).message, shard }, 'could not delete finished jobs; retrying');
    });
    if (!timer && !stopped && [...byShard.values()].some((ids) => ids.length > 0)) timer = setTimeout(() => void flush(), FLUSH_MS);
  }

  return {
    add,
    /** Finished jobs of `shard`, handed to its lease statement (given back with `add` if it fails). */
    take(shard: number): FinishedJob[] {
      const done = byShard.get(shard) ?? [];
      byShard.delete(shard);
      return done;
    },
    flush,
    async stop(): Promise<void> {
      await flush(true);
      stopped = true;
      if (timer) clearTimeout(timer);
      timer = null;
    },
  };
}
export type FinishedJobs = ReturnType<typeof createFinishedJobs>;
