import type { Sql } from 'postgres';
import { deliveryQueueName } from './jobs.js';
import { isMissingTable, leasedJob, type FetchedJob, type JobQueue, type LeasedRow } from './jobQueue.js';
import type { LoadedDelivery } from './dispatcher.js';

export interface RoundRequest {
  endpointId: string;
  limit: number;
}

export interface RoundJob {
  job: FetchedJob;
  /** Null when the delivery row is gone. */
  delivery: LoadedDelivery | null;
}

/** A delivery of the round, or (delivery_id null) an event of the round with its payload. */
interface LoadRow {
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

// Deliveries of the round, then each event once (an event fanned out to many endpoints is in a
// round many times: its payload is read and sent over once). A hash, not a sort: the worker
// pool runs with enable_sort off. Both tables are read by ids given as parameters ($2: the
// jobs' event ids), so Postgres plans only the day partitions holding them.
export const LOAD_SQL = `
  WITH loaded AS (
    SELECT d.id AS delivery_id, d.org_id, d.event_id, d.event_type, d.attempt_count, d.ordering_key, d.seq, d.status
    FROM deliveries d WHERE d.id = ANY($1::text[])
  )
  SELECT delivery_id, org_id, event_id, event_type, attempt_count, ordering_key, seq, status,
         NULL::timestamptz AS created_at, NULL::text AS data_json
  FROM loaded
  UNION ALL
  SELECT NULL, NULL, e.id, NULL, NULL, NULL, NULL, NULL, e.created_at, e.data::text
  FROM events e WHERE e.id = ANY($2::text[]) AND e.id IN (SELECT event_id FROM loaded)`;

/**
 * One fetch round of the worker: per endpoint one statement on its queue's own partition that
 * deletes the finished jobs whose attempts are committed and leases the due ones (prepared once
 * per partition and planned for each execution, see Database.workerSql; postgres.js pipelines
 * them on the pool's connections), then one query loading the deliveries and events of
 * everything leased.
 *
 * Why per partition: a statement on pg-boss's partitioned `job` table pays for partition pruning
 * on every execution (~0.3 ms for a few hundred queues, milliseconds when one statement leases
 * for many endpoints) or, with a generic plan, locks every partition. On the partition itself it
 * is an ordinary single-table statement, cheap to plan.
 */
export function createRoundFetcher(deps: { sql: Sql; jobQueue: JobQueue }) {
  const { sql, jobQueue } = deps;
  const texts = new Map<string, string>();

  function leaseText(endpointId: string, withDelete: boolean): string {
    const key = `${endpointId}:${withDelete ? 1 : 0}`;
    let text = texts.get(key);
    if (text === undefined) {
      const table = jobQueue.partitionTable(endpointId);
      const ctes = [
        ...(withDelete ? [`d AS (${jobQueue.removeSql('$1', '$3', table)})`] : []),
        jobQueue.leaseCtes('l', '$1', '$2', table),
      ];
      text = `WITH ${ctes.join(',\n')} SELECT name, id, data, retry_count FROM l`;
      texts.set(key, text);
    }
    return text;
  }

  async function lease(request: RoundRequest, done: string[] | undefined): Promise<FetchedJob[]> {
    const params: unknown[] = [deliveryQueueName(request.endpointId), request.limit];
    if (done?.length) params.push(done);
    try {
      const rows = await sql.unsafe<LeasedRow[]>(leaseText(request.endpointId, !!done?.length), params as never[], { prepare: true });
      return rows.map(leasedJob);
    } catch (err) {
      // The endpoint was deleted and its queue dropped: nothing to lease, nothing left to delete.
      if (isMissingTable(err)) return [];
      throw err;
    }
  }

  async function load(jobs: FetchedJob[]): Promise<Map<string, LoadedDelivery>> {
    const result = new Map<string, LoadedDelivery>();
    if (jobs.length === 0) return result;
    const rows = await sql.unsafe<LoadRow[]>(LOAD_SQL, [jobs.map((j) => j.deliveryId), [...new Set(jobs.map((j) => j.eventId))]] as never[], { prepare: true });
    const events = new Map<string, { createdAt: Date; dataJson: string }>();
    for (const r of rows) if (r.delivery_id === null) events.set(r.event_id, { createdAt: r.created_at, dataJson: r.data_json ?? 'null' });
    for (const r of rows) {
      if (r.delivery_id === null) continue;
      const event = events.get(r.event_id);
      if (!event) continue;
      result.set(r.delivery_id, {
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
      });
    }
    return result;
  }

  /** Forgets the statements of a deleted endpoint. */
  function forget(endpointId: string): void {
    texts.delete(`${endpointId}:0`);
    texts.delete(`${endpointId}:1`);
    jobQueue.forgetPartition(endpointId);
  }

  /**
   * Leases for `requests` (one per endpoint) and deletes `done` (finished jobs by endpoint, their
   * attempts committed), then loads what was leased. Each endpoint's lease is its own statement:
   * a failure leaves that endpoint's jobs unleased and its finished jobs undeleted. The result
   * has one entry per request, in order.
   */
  async function fetchRound(requests: RoundRequest[], done: Map<string, string[]>): Promise<PromiseSettledResult<RoundJob[]>[]> {
    const leased = await Promise.allSettled(requests.map((r) => lease(r, done.get(r.endpointId))));
    const jobs = leased.flatMap((r) => (r.status === 'fulfilled' ? r.value : []));
    let loaded: Map<string, LoadedDelivery>;
    try {
      loaded = await load(jobs);
    } catch (err) {
      // The leases stand (the caller hands those jobs back); report the failure per endpoint.
      // One error per endpoint, each carrying that endpoint's own leased jobs.
      const message = (err as Error).message;
      return leased.map((r) =>
        r.status === 'rejected' ? r : { status: 'rejected', reason: Object.assign(new Error(`load failed: ${message}`), { leased: r.value }) },
      );
    }
    return leased.map((r) =>
      r.status === 'rejected'
        ? r
        : {
            status: 'fulfilled',
            // UPDATE ... RETURNING does not keep the lease order; job ids are time-ordered.
            value: r.value
              .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
              .map((job) => ({ job, delivery: loaded.get(job.deliveryId) ?? null })),
          },
    );
  }

  return Object.assign(fetchRound, { forget });
}
export type RoundFetcher = ReturnType<typeof createRoundFetcher>;
