import type { Sql, TransactionSql } from 'postgres';
import { SHARD_QUEUE_NAMES, shardOf, shardQueueName } from '../queues.js';

type Executor = Sql | TransactionSql;

/**
 * The delivery queue's statements outside the hot path: takeover, discovery of due jobs nobody
 * announced, cleanup after deleted endpoints, an operator's retry, and depth for metrics. Like the
 * hot ones (deliveryJobs.ts) they name each shard's partition table directly.
 */
export function createDeliveryJobUpkeep(sql: Sql, partitionOf: (shard: number) => string, schema = 'pgboss') {
  const job = `${schema}.job`;
  return {
    /**
     * Makes jobs leased by a previous owner of these endpoints fetchable now (it died or handed
     * them over unfinished). `owns` picks the endpoints; only leased jobs are read, a handful.
     */
    async releaseActive(shards: number[], owns: (endpointId: string) => boolean): Promise<number> {
      let released = 0;
      for (const shard of shards) {
        const t = partitionOf(shard);
        const active = await sql.unsafe<{ id: string; p: string }[]>(
          `SELECT id, data->>'p' AS p FROM ${t} WHERE name = $1 AND state = 'active'`,
          [shardQueueName(shard)],
        );
        const ids = active.filter((r) => owns(r.p)).map((r) => r.id);
        if (ids.length === 0) continue;
        const result = await sql.unsafe(
          `UPDATE ${t} SET state = 'retry', start_after = now() WHERE name = $1 AND id = ANY($2::uuid[]) AND state = 'active'`,
          [shardQueueName(shard), ids] as never[],
        );
        released += result.count;
      }
      return released;
    },

    /**
     * Endpoints of a shard with waiting jobs, each with its earliest due time, in endpoint order
     * after `after`, at most `limit`: a skip scan of the endpoint index (one probe per endpoint,
     * however long its backlog).
     */
    async discover(shard: number, after: string, limit: number): Promise<{ endpointId: string; dueMs: number }[]> {
      const t = partitionOf(shard);
      const rows = await sql.unsafe<{ p: string; due: Date }[]>(
        `WITH RECURSIVE e AS (
           (SELECT data->>'p' AS p, start_after AS due FROM ${t}
            WHERE name = $1 AND state < 'active' AND (data->>'p') > $2
            ORDER BY data->>'p', start_after LIMIT 1)
           UNION ALL
           SELECT n.p, n.due FROM e CROSS JOIN LATERAL (
             SELECT data->>'p' AS p, start_after AS due FROM ${t}
             WHERE name = $1 AND state < 'active' AND (data->>'p') > e.p
             ORDER BY data->>'p', start_after LIMIT 1) n
         )
         SELECT p, due FROM e LIMIT $3`,
        [shardQueueName(shard), after, limit] as never[],
      );
      return rows.map((r) => ({ endpointId: r.p, dueMs: new Date(r.due).getTime() }));
    },

    /** Deletes the waiting jobs of a deleted endpoint (leased ones are dropped by the worker). */
    async removeForEndpoint(tx: Executor, endpointId: string): Promise<number> {
      const shard = shardOf(endpointId);
      const result = await tx.unsafe(`DELETE FROM ${partitionOf(shard)} WHERE name = $1 AND (data->>'p') = $2 AND state < 'active'`, [
        shardQueueName(shard),
        endpointId,
      ]);
      return result.count;
    },

    /**
     * Cleans up after endpoints that are deleted (or never existed) but still have waiting jobs,
     * written by a publish that raced their deletion: the jobs go, the deliveries are cancelled.
     */
    async removeOrphans(endpointIds: string[]): Promise<number> {
      if (endpointIds.length === 0) return 0;
      return sql.begin(async (tx) => {
        const gone = await tx<{ id: string }[]>`
          SELECT x.id FROM unnest(${endpointIds}::text[]) AS x(id)
          WHERE NOT EXISTS (SELECT 1 FROM endpoints e WHERE e.id = x.id AND e.deleted_at IS NULL)`;
        let removed = 0;
        for (const { id } of gone) {
          const shard = shardOf(id);
          const result = await tx.unsafe(`DELETE FROM ${partitionOf(shard)} WHERE name = $1 AND (data->>'p') = $2 AND state < 'active'`, [
            shardQueueName(shard),
            id,
          ]);
          removed += result.count;
        }
        if (gone.length) {
          await tx`UPDATE deliveries SET status = 'CANCELLED', completed_at = now()
                   WHERE endpoint_id = ANY(${gone.map((g) => g.id)}::text[]) AND status = 'PENDING'`;
        }
        return removed;
      });
    },

    /**
     * Moves the waiting jobs of these deliveries to now, marked manual (an operator's retry of a
     * failed delivery). Returns the ids of the deliveries whose job moved.
     */
    async hurry(tx: Executor, picked: { endpointId: string; deliveryId: string }[]): Promise<Set<string>> {
      const moved = new Set<string>();
      const byShard = new Map<number, { endpointId: string; deliveryId: string }[]>();
      for (const p of picked) {
        const shard = shardOf(p.endpointId);
        byShard.set(shard, [...(byShard.get(shard) ?? []), p]);
      }
      for (const [shard, list] of byShard) {
        const rows = await tx.unsafe<{ d: string }[]>(
          `UPDATE ${partitionOf(shard)} j SET start_after = now(), data = j.data || '{"m":1}'::jsonb
           FROM unnest($2::text[], $3::text[]) AS x(p, d)
           WHERE j.name = $1 AND (j.data->>'p') = x.p AND j.state < 'active' AND j.data->>'d' = x.d
           RETURNING j.data->>'d' AS d`,
          [shardQueueName(shard), list.map((p) => p.endpointId), list.map((p) => p.deliveryId)] as never[],
        );
        for (const r of rows) moved.add(r.d);
      }
      return moved;
    },

    /** Earliest due time of each endpoint's waiting jobs (endpoints with none are absent). */
    async nextDue(endpointIds: string[]): Promise<Map<string, Date>> {
      const result = new Map<string, Date>();
      for (const id of endpointIds) {
        const shard = shardOf(id);
        const [row] = await sql.unsafe<{ due: Date }[]>(
          `SELECT start_after AS due FROM ${partitionOf(shard)} WHERE name = $1 AND (data->>'p') = $2 AND state < 'active'
           ORDER BY start_after LIMIT 1`,
          [shardQueueName(shard), id],
        );
        if (row) result.set(id, new Date(row.due));
      }
      return result;
    },

    /**
     * Makes due now the waiting jobs of an endpoint that its breaker deferred to `deferredUntil`
     * (a job leased just as the circuit opened is handed back to start after the cooldown): for
     * when the circuit closes before that (an early probe, a resume).
     */
    async makeDeferredDue(tx: Executor, endpointId: string, deferredUntil: Date): Promise<number> {
      const shard = shardOf(endpointId);
      const result = await tx.unsafe(
        `UPDATE ${partitionOf(shard)} SET start_after = now()
         WHERE name = $1 AND (data->>'p') = $2 AND state < 'active' AND start_after = $3::timestamptz AND start_after > now()`,
        [shardQueueName(shard), endpointId, deferredUntil.toISOString()] as never[],
      );
      return result.count;
    },

    /**
     * How far behind delivery is: per kind of job (first attempt, scheduled retry, operator's
     * retry), the seconds the oldest due job of a deliverable endpoint has waited past its due
     * time. Held work is not lag: jobs of endpoints that are paused, disabled, deleted, behind an
     * open circuit or of an organization off the enterprise plan wait on purpose. One index probe
     * per endpoint with waiting jobs (each endpoint's oldest job decides its kind).
     */
    async lag(): Promise<{ oldestDueSeconds: number; byKind: Record<string, number> }> {
      const byKind: Record<string, number> = {};
      for (let shard = 0; shard < SHARD_QUEUE_NAMES.length; shard++) {
        const t = partitionOf(shard);
        const rows = await sql.unsafe<{ kind: string; lag: number }[]>(
          `WITH RECURSIVE e AS (
             (SELECT data->>'p' AS p, start_after, data FROM ${t}
              WHERE name = $1 AND state < 'active' ORDER BY data->>'p', start_after LIMIT 1)
             UNION ALL
             SELECT n.p, n.start_after, n.data FROM e CROSS JOIN LATERAL (
               SELECT data->>'p' AS p, start_after, data FROM ${t}
               WHERE name = $1 AND state < 'active' AND (data->>'p') > e.p ORDER BY data->>'p', start_after LIMIT 1) n
           )
           SELECT CASE WHEN e.data->>'m' = '1' THEN 'manual' WHEN coalesce((e.data->>'a')::int, 0) > 0 THEN 'retry' ELSE 'first_attempt' END AS kind,
                  EXTRACT(EPOCH FROM now() - min(e.start_after))::float8 AS lag
           FROM e
           JOIN endpoints ep ON ep.id = e.p
           JOIN organizations o ON o.id = ep.org_id
           WHERE e.start_after <= now() AND ep.active AND ep.deleted_at IS NULL AND o.plan = 'enterprise'
             AND NOT (ep.circuit_state = 'OPEN' AND ep.circuit_open_until > now())
           GROUP BY 1`,
          [shardQueueName(shard)],
        );
        for (const r of rows) byKind[r.kind] = Math.max(byKind[r.kind] ?? 0, Math.max(0, r.lag));
      }
      return { oldestDueSeconds: Math.max(0, ...Object.values(byKind)), byKind };
    },

    /** Waiting and leased delivery jobs, and the age of the oldest due one (metrics). */
    async depth(): Promise<{ waiting: number; active: number; oldestDueAgeSeconds: number }> {
      const [row] = await sql.unsafe<{ waiting: number; active: number; oldest: number | null }[]>(
        `SELECT count(*) FILTER (WHERE state < 'active')::int AS waiting,
                count(*) FILTER (WHERE state = 'active')::int AS active,
                EXTRACT(EPOCH FROM now() - min(start_after) FILTER (WHERE state < 'active' AND start_after <= now()))::float8 AS oldest
         FROM ${job} WHERE name = ANY($1::text[]) AND state <= 'active'`,
        [SHARD_QUEUE_NAMES as string[]] as never[],
      );
      return { waiting: row?.waiting ?? 0, active: row?.active ?? 0, oldestDueAgeSeconds: row?.oldest ?? 0 };
    },

  };
}
