import type { Sql } from 'postgres';
import { deliveryQueueName } from './jobs.js';
import { leasedJob, type FetchedJob, type JobQueue, type LeasedRow } from './jobQueue.js';
import type { LoadedDelivery } from './dispatcher.js';

/** Most endpoints leased by one statement; a larger round is split (and pipelined). */
export const ROUND_ENDPOINTS_MAX = 16;

export interface RoundRequest {
  endpointId: string;
  limit: number;
}

export interface RoundJob {
  job: FetchedJob;
  /** Null when the delivery row is gone. */
  delivery: LoadedDelivery | null;
}

/** A leased job with its delivery, or (id null) an event of the round with its payload. */
interface RoundRow extends Omit<LeasedRow, 'id'> {
  id: string | null;
  delivery_id: string | null;
  org_id: string;
  event_id: string;
  event_type: string;
  attempt_count: number;
  ordering_key: string | null;
  seq: string;
  status: LoadedDelivery['status'];
  created_at: Date;
  data_json: string | null;
}

/**
 * One fetch round of the worker in one statement per (up to) 16 endpoints: delete the finished
 * jobs whose attempts are committed, lease each endpoint's due jobs (one pair of CTEs per
 * endpoint, naming its queue, so each plans for its own partition), and load the deliveries and
 * events of what was leased. An event fanned out to many endpoints is in a round many times: its
 * payload is read and sent over once (in rows of its own after the jobs). One statement instead of one
 * per endpoint plus one for the load: a lease of a single job costs ~0.5 ms of planning and
 * executor set-up and ~0.15 ms of work, so at low load statements are the cost.
 */
export function createRoundFetcher(deps: { sql: Sql; jobQueue: JobQueue }) {
  const { sql, jobQueue } = deps;
  const texts = new Map<string, string>();

  /**
   * The statement for `k` endpoints of which the first `d` have finished jobs to delete. Each
   * DELETE names its endpoint's queue like the lease does, so it plans for that one partition
   * (a DELETE over an array of names, empty or not, costs as much to plan as the whole round).
   */
  function textFor(k: number, d: number): string {
    const key = `${k}:${d}`;
    let text = texts.get(key);
    if (text === undefined) {
      // Parameters per endpoint: queue name, limit, then finished job ids for the first d.
      const p = (i: number) => 1 + 2 * i + Math.min(i, d);
      const ctes: string[] = [];
      for (let i = 0; i < k; i++) {
        if (i < d) ctes.push(`d${i} AS (${jobQueue.removeSql(`$${p(i)}`, `$${p(i) + 2}`)})`);
        ctes.push(jobQueue.leaseCtes(`l${i}`, `$${p(i)}`, `$${p(i) + 1}`));
      }
      text = `
        WITH ${ctes.join(',\n')},
        leased AS (${Array.from({ length: k }, (_, i) => `SELECT * FROM l${i}`).join(' UNION ALL ')}),
        loaded AS (
          SELECT l.name, l.id, l.data, l.retry_count, d.id AS delivery_id, d.org_id, d.event_id, d.event_type,
                 d.attempt_count, d.ordering_key, d.seq, d.status
          FROM leased l LEFT JOIN deliveries d ON d.id = l.data->>'d'
        )
        SELECT name, id, data, retry_count, delivery_id, org_id, event_id, event_type, attempt_count, ordering_key, seq, status,
               NULL::timestamptz AS created_at, NULL::text AS data_json
        FROM loaded
        UNION ALL
        -- Each event once (a hash, not a sort: the worker pool runs with enable_sort off).
        SELECT NULL, NULL, NULL, NULL, NULL, NULL, e.id, NULL, NULL, NULL, NULL, NULL, e.created_at, e.data::text
        FROM events e WHERE e.id IN (SELECT event_id FROM loaded)`;
      texts.set(key, text);
    }
    return text;
  }

  async function one(requests: RoundRequest[], done: Map<string, string[]>): Promise<RoundJob[]> {
    // Endpoints with finished jobs first: the statement shape is (endpoints, endpoints with deletes).
    const ordered = [...requests].sort((a, b) => Number(done.has(b.endpointId)) - Number(done.has(a.endpointId)));
    const d = ordered.filter((r) => done.has(r.endpointId)).length;
    const params: unknown[] = [];
    ordered.forEach((r, i) => {
      params.push(deliveryQueueName(r.endpointId), r.limit);
      if (i < d) params.push(done.get(r.endpointId));
    });
    const rows = await sql.unsafe<RoundRow[]>(textFor(ordered.length, d), params as never[], { prepare: true });
    const events = new Map<string, { createdAt: Date; dataJson: string }>();
    for (const r of rows) if (r.id === null) events.set(r.event_id, { createdAt: r.created_at, dataJson: r.data_json ?? 'null' });
    const out: RoundJob[] = [];
    for (const r of rows) {
      if (r.id === null) continue;
      const event = r.delivery_id === null ? undefined : events.get(r.event_id);
      out.push({
        job: leasedJob(r as LeasedRow),
        delivery:
          r.delivery_id === null || !event
            ? null
            : {
                id: r.delivery_id,
                orgId: r.org_id,
                eventId: r.event_id,
                eventType: r.event_type,
                eventCreatedAt: event.createdAt,
                dataJson: event.dataJson,
                attemptCount: r.attempt_count,
                orderingKey: r.ordering_key,
                seq: Number(r.seq),
                status: r.status,
              },
      });
    }
    // UPDATE ... RETURNING does not keep the lease order; job ids are time-ordered.
    out.sort((a, b) => (a.job.id < b.job.id ? -1 : a.job.id > b.job.id ? 1 : 0));
    return out;
  }

  /**
   * Leases and loads for `requests` (one per endpoint) and deletes `done` (finished jobs by
   * endpoint, their attempts committed). Each chunk of endpoints is its own statement and
   * transaction: a failure leaves that chunk's jobs unleased and its finished jobs undeleted.
   */
  return function fetchRound(
    requests: RoundRequest[],
    done: Map<string, string[]>,
  ): Promise<PromiseSettledResult<RoundJob[]>[]> {
    const chunks: RoundRequest[][] = [];
    for (let i = 0; i < requests.length; i += ROUND_ENDPOINTS_MAX) chunks.push(requests.slice(i, i + ROUND_ENDPOINTS_MAX));
    return Promise.allSettled(
      chunks.map((chunk) => one(chunk, new Map(chunk.filter((r) => done.has(r.endpointId)).map((r) => [r.endpointId, done.get(r.endpointId)!])))),
    );
  };
}
export type RoundFetcher = ReturnType<typeof createRoundFetcher>;
