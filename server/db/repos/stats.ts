import type { Sql } from 'postgres';
import { idLowerBound } from '../../domain/ids.js';

export interface StatsRow {
  start: Date;
  succeeded: number;
  failed: number;
  total: number;
  /** Attempt duration percentiles in ms: p50, p95, p99. */
  percentiles: [number, number, number];
}

export interface StatsQuery {
  endpointId: string;
  since: Date;
  until: Date;
  bucketSeconds: number;
}

/**
 * Aggregates over delivery_attempts for dashboards. The bucket query reads only columns of
 * `attempts_endpoint_stats_idx (endpoint_id, id, succeeded, duration_ms)`, so Postgres answers it
 * with index-only scans of the one endpoint's window; keep it that way (a column outside the
 * index, e.g. error_class, would add a heap fetch per attempt).
 *
 * Time is read from the id: an attempt's id carries its start time to the millisecond (see
 * dispatcher.ts), so "started in [a, b)" is the id range [idLowerBound(a), idLowerBound(b)). The
 * whole window's range, as constants, makes Postgres plan only its day partitions; each bucket's
 * own range (computed here, passed as arrays) is its index range.
 *
 * One aggregate per bucket over its own index range, rather than `GROUP BY date_bin(...)`: the
 * planner cannot tell that date_bin keeps the index's order, so the GROUP BY form sorts the whole
 * window by bucket before percentile_cont sorts each bucket again (1,000,000 attempts: an external
 * merge sort spilling ~25 MB to disk, about twice as slow as this form). Here each bucket's rows
 * arrive in index order and only percentile_cont sorts, in memory, per bucket.
 */
export function createStatsRepo(sql: Sql) {
  // Bucket i is [since + i·b, min(since + (i+1)·b, until)), exactly what the API returns.
  const bucketsQuery = (q: StatsQuery) => {
    const stepMs = q.bucketSeconds * 1000;
    const sinceMs = q.since.getTime();
    const untilMs = q.until.getTime();
    const starts: string[] = [];
    const los: string[] = [];
    const his: string[] = [];
    for (let t = sinceMs; t < untilMs; t += stepMs) {
      starts.push(new Date(t).toISOString());
      los.push(idLowerBound('attempt', t));
      his.push(idLowerBound('attempt', Math.min(t + stepMs, untilMs)));
    }
    return sql`
      SELECT b.start, s.succeeded, s.failed, s.total, s.percentiles
      FROM unnest(${starts}::timestamptz[], ${los}::text[], ${his}::text[]) AS b(start, lo, hi)
      CROSS JOIN LATERAL (
        SELECT count(*) FILTER (WHERE succeeded)::int AS succeeded,
               count(*) FILTER (WHERE NOT succeeded)::int AS failed,
               count(*)::int AS total,
               percentile_cont(ARRAY[0.5, 0.95, 0.99]) WITHIN GROUP (ORDER BY duration_ms) AS percentiles
        FROM delivery_attempts
        WHERE endpoint_id = ${q.endpointId}
          AND id >= ${idLowerBound('attempt', sinceMs)} AND id < ${idLowerBound('attempt', untilMs)}
          AND id >= b.lo AND id < b.hi
      ) AS s
      WHERE s.total > 0
      ORDER BY b.start`;
  };

  return {
    /** Buckets that hold at least one attempt, oldest first (one index range scan per bucket). */
    async buckets(q: StatsQuery): Promise<StatsRow[]> {
      const rows = await sql<{ start: Date; succeeded: number; failed: number; total: number; percentiles: number[] }[]>`${bucketsQuery(q)}`;
      return rows.map((r) => ({
        start: r.start,
        succeeded: r.succeeded,
        failed: r.failed,
        total: r.total,
        percentiles: r.percentiles.map(Number) as [number, number, number],
      }));
    },

    /**
     * Failed attempts per bucket and error class. Not covered by the index (error_class lives in
     * the heap): its cost grows with the failures in the window, so it runs only when asked for.
     */
    async failuresByErrorClass(q: StatsQuery): Promise<{ start: Date; errorClass: string; count: number }[]> {
      return sql<{ start: Date; errorClass: string; count: number }[]>`
        SELECT date_bin(make_interval(secs => ${q.bucketSeconds}), started_at, ${q.since}::timestamptz) AS start,
               error_class AS "errorClass", count(*)::int AS count
        FROM delivery_attempts
        WHERE endpoint_id = ${q.endpointId}
          AND id >= ${idLowerBound('attempt', q.since.getTime())} AND id < ${idLowerBound('attempt', q.until.getTime())}
          AND NOT succeeded AND error_class IS NOT NULL
        GROUP BY 1, 2
        ORDER BY 1, 2`;
    },

    /**
     * The newest attempts (at most `sampleSize`, none older than `since`) of each endpoint: how many
     * and how many failed. A backward index-only scan of attempts_endpoint_stats_idx per endpoint,
     * bounded by the sample size however busy the endpoint is.
     */
    async recentOutcomes(endpointIds: readonly string[], since: Date, sampleSize: number): Promise<Map<string, { attempts: number; failures: number; lastAttemptAt: Date | null }>> {
      const result = new Map<string, { attempts: number; failures: number; lastAttemptAt: Date | null }>();
      if (endpointIds.length === 0) return result;
      const rows = await sql<{ id: string; attempts: number; failures: number; last_at: Date | null }[]>`
        SELECT e.id, r.attempts, r.failures, r.last_at
        FROM unnest(${endpointIds as string[]}::text[]) AS e(id)
        CROSS JOIN LATERAL (
          SELECT count(*)::int AS attempts, count(*) FILTER (WHERE NOT x.succeeded)::int AS failures, max(x.started_at) AS last_at
          FROM (SELECT a.succeeded, a.started_at FROM delivery_attempts a
                WHERE a.endpoint_id = e.id AND a.started_at >= ${since}
                ORDER BY a.started_at DESC LIMIT ${sampleSize}) AS x
        ) AS r`;
      for (const r of rows) result.set(r.id, { attempts: r.attempts, failures: r.failures, lastAttemptAt: r.last_at });
      return result;
    },

    /** EXPLAIN (ANALYZE, BUFFERS) of the bucket query, as Postgres's JSON plan (tests, benchmarks). */
    async explainBuckets(q: StatsQuery): Promise<unknown> {
      const [row] = await sql<{ 'QUERY PLAN': unknown }[]>`EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) ${bucketsQuery(q)}`;
      return row?.['QUERY PLAN'];
    },

    /** Endpoints (not deleted) per circuit state, and how many are inactive (metrics). */
    async endpointStates(): Promise<{ circuit: Record<string, number>; inactive: number }> {
      const rows = await sql<{ circuit_state: string; active: boolean; n: number }[]>`
        SELECT circuit_state, active, count(*)::int AS n FROM endpoints WHERE deleted_at IS NULL GROUP BY 1, 2`;
      const circuit: Record<string, number> = {};
      let inactive = 0;
      for (const r of rows) {
        circuit[r.circuit_state] = (circuit[r.circuit_state] ?? 0) + r.n;
        if (!r.active) inactive += r.n;
      }
      return { circuit, inactive };
    },
  };
}
export type StatsRepo = ReturnType<typeof createStatsRepo>;
