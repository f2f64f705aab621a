/**
 * Synthetic delivery history written straight into the partitioned tables with set-based SQL
 * (no API, no worker): `days` past days of events, deliveries and attempts for `endpoints`
 * endpoints of one organization, shaped like the service's own rows (ids carrying their time,
 * delivery ids their event's time, attempt ids their start; 1 KiB payloads; the request headers
 * an attempt records). Per event: 3 deliveries; per delivery: 1 attempt, or 3 for one in 13 (a
 * failure, a retry a minute later, then success, or DEAD for half of them); one delivery in
 * 20,000 still PENDING (what retention carries over); one event in 10 with an idempotency key.
 */
import type { Sql } from 'postgres';
import { DAY_MS, HISTORY_TABLES, partitionBounds, partitionName, utcDayStart, type HistoryTable } from '../../server/domain/historyPartitions.js';

export const FANOUT = 3;
/** Attempts per delivery on average: 12/13 × 1 + 1/13 × 3. */
export const ATTEMPTS_PER_DELIVERY = 15 / 13;
const CHUNK_EVENTS = 100_000;
/**
 * Deliveries still PENDING: the ones retention carries over when their day is dropped. Old days
 * keep very few (a delivery pending after 90 days waits for an endpoint paused all that time).
 */
const PENDING_ONE_IN = 20_000;
const PAD = 'x'.repeat(1000);

export interface GeneratedHistory {
  endpointIds: string[];
  /** Start of the oldest generated day (UTC midnight). */
  firstDayMs: number;
  days: number;
  events: number;
  deliveries: number;
  attempts: number;
  seconds: number;
}

/** Writes about `attempts` attempts over the `days` days before today. */
export async function generateHistory(
  sql: Sql,
  options: { orgId: string; attempts: number; days: number; endpoints: number; log: (line: string) => void },
): Promise<GeneratedHistory> {
  const t0 = performance.now();
  const today = utcDayStart(Date.now());
  const firstDayMs = today - options.days * DAY_MS;

  const endpointIds = (
    await sql<{ id: string }[]>`
      INSERT INTO endpoints (id, org_id, url, description, active, disabled_reason)
      SELECT left(webhooks_id_bound('ep', ${firstDayMs}::bigint), 13) || lpad(n::text, 16, '0'), ${options.orgId},
             'https://history.bench.invalid/' || n, 'history bench ' || n, false, 'history bench: never delivered to'
      FROM generate_series(1, ${options.endpoints}) n
      RETURNING id`
  ).map((r) => r.id);

  // The chunk statement's estimates (a generate_series of unknown length per row) are huge: with
  // JIT on, Postgres spent a third of each chunk compiling it. `sql` has one connection.
  await sql`SET jit = off`;
  const seq = (await sql<{ seq: string }[]>`SELECT pg_get_serial_sequence('deliveries', 'seq') AS seq`)[0]!.seq;
  const perDay = Math.max(1, Math.round(options.attempts / options.days / FANOUT / ATTEMPTS_PER_DELIVERY));
  let events = 0;
  for (let d = 0; d < options.days; d++) {
    const day = firstDayMs + d * DAY_MS;
    // Each day is written into plain tables, then attached as that day's partitions: attaching
    // builds their indexes in one sort each, several times faster than maintaining seven indexes
    // row by row. The partitions are the ones maintenance makes (names, bounds, columns).
    const tables = Object.fromEntries(HISTORY_TABLES.map((t) => [t, partitionName(t, day)])) as Record<HistoryTable, string>;
    for (const t of HISTORY_TABLES) {
      await sql.unsafe(`CREATE TABLE "${tables[t]}" (LIKE "${t}" INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING STORAGE INCLUDING COMPRESSION)`);
    }
    for (let from = 0; from < perDay; from += CHUNK_EVENTS) {
      const to = Math.min(perDay, from + CHUNK_EVENTS);
      await writeChunk(sql, { orgId: options.orgId, day, perDay, from, to, endpointIds, endpointPrefix: endpointIds[0]!.slice(0, 13), seq, tables });
      events += to - from;
    }
    for (const t of HISTORY_TABLES) {
      const b = partitionBounds(t, { fromMs: day, toMs: day + DAY_MS });
      await sql.unsafe(`ALTER TABLE "${t}" ATTACH PARTITION "${tables[t]}" FOR VALUES FROM ('${b.from}') TO ('${b.to}')`);
    }
    options.log(`history: day ${d + 1}/${options.days} written (${(events * FANOUT * ATTEMPTS_PER_DELIVERY).toFixed(0)} attempts so far, ${((performance.now() - t0) / 1000).toFixed(0)} s)`);
  }
  // What autovacuum does to a table that stopped growing: statistics, and the visibility map
  // index-only scans need. Only the days written here: vacuuming today's partitions too (as
  // VACUUM of the parents did) gave the run on top of the history something the run before it
  // did not have, the free space of today's earlier deliveries in the free space map, where
  // the outcome updates then went, to pages all over the partition: 4,646 full-page images of
  // `deliveries` in 5 s against 626 (walProfile), 1.8 KB of WAL per delivery against 0.7.
  await sql`RESET jit`;
  const v0 = performance.now();
  const written = Array.from({ length: options.days }, (_, d) => HISTORY_TABLES.map((t) => `"${partitionName(t, firstDayMs + d * DAY_MS)}"`)).flat();
  await sql.unsafe(`VACUUM (ANALYZE) ${[...written, 'event_idempotency_keys'].join(', ')}`);
  // Statistics of everything else too (today's partitions), as autovacuum keeps them: without,
  // the by-endpoint list planned today's partition from statistics of when it was nearly empty
  // and read all of the organization's deliveries of the day (p50 432 ms).
  await sql`ANALYZE events, deliveries, delivery_attempts`;
  options.log(`history: vacuumed in ${((performance.now() - v0) / 1000).toFixed(0)} s`);
  const deliveries = events * FANOUT;
  return {
    endpointIds,
    firstDayMs,
    days: options.days,
    events,
    deliveries,
    attempts: Math.round(deliveries * ATTEMPTS_PER_DELIVERY),
    seconds: (performance.now() - t0) / 1000,
  };
}

/** Events [from, to) of `day` (of `perDay`), their deliveries and attempts, in one statement. */
async function writeChunk(
  sql: Sql,
  c: {
    orgId: string;
    day: number;
    perDay: number;
    from: number;
    to: number;
    endpointIds: string[];
    endpointPrefix: string;
    /** The sequence of deliveries.seq (publish order), as publishing would draw from it. */
    seq: string;
    tables: Record<HistoryTable, string>;
  },
): Promise<void> {
  const table = (t: HistoryTable) => sql(c.tables[t]);
  await sql`
    WITH g AS (
      -- Spread over the day but its last minutes: a retry two minutes later stays in the day.
      SELECT n, ${c.day}::bigint + (n::bigint * ${DAY_MS - 200_000}::bigint) / ${c.perDay}::bigint AS ms
      FROM generate_series(${c.from}::int, ${c.to - 1}::int) n
    ), ev AS (
      INSERT INTO ${table('events')} (id, org_id, type, data, idempotency_key, ordering_key, created_at)
      SELECT left(webhooks_id_bound('evt', ms), 14) || lpad(n::text, 16, '0'), ${c.orgId}, 'bench.history.' || (n % 10),
             jsonb_build_object('n', n, 'pipeline', 'p-' || (n % 500), 'pad', ${PAD}::text),
             CASE WHEN n % 10 = 0 THEN 'hk-' || ${c.day}::bigint || '-' || n END, 'run-' || (n % 5000), to_timestamp(ms / 1000.0)
      FROM g
      RETURNING id, idempotency_key
    ), keys AS (
      INSERT INTO event_idempotency_keys (org_id, idempotency_key, event_id)
      SELECT ${c.orgId}, idempotency_key, id FROM ev WHERE idempotency_key IS NOT NULL
    ), dl AS (
      -- The endpoint ids are a prefix and a number (see generateHistory): no array lookup per row.
      SELECT g.n, g.ms, k, ${c.endpointPrefix}::text || lpad((1 + k % ${c.endpointIds.length})::text, 16, '0') AS ep,
             CASE WHEN k % ${PENDING_ONE_IN} = 7 THEN 1 WHEN k % 13 = 0 THEN 3 ELSE 1 END AS tries,
             CASE WHEN k % ${PENDING_ONE_IN} = 7 THEN 'PENDING' WHEN k % 26 = 0 THEN 'DEAD' ELSE 'SUCCEEDED' END AS status
      FROM g CROSS JOIN LATERAL (SELECT g.n * ${FANOUT} + f AS k FROM generate_series(0, ${FANOUT - 1}) f) x
    ), d AS (
      INSERT INTO ${table('deliveries')} (id, seq, org_id, event_id, endpoint_id, event_type, ordering_key, status, attempt_count, next_attempt_at,
                              last_attempt_at, last_attempt_id, created_at, completed_at)
      SELECT left(webhooks_id_bound('dlv', ms), 14) || lpad(k::text, 16, '0'), nextval(${c.seq}::regclass),
             ${c.orgId}, left(webhooks_id_bound('evt', ms), 14) || lpad(n::text, 16, '0'),
             ep, 'bench.history.' || (n % 10), 'run-' || (n % 5000), status::delivery_status, tries,
             CASE WHEN status = 'PENDING' THEN to_timestamp((ms + 3600000) / 1000.0) END,
             to_timestamp((ms + (tries - 1) * 60000 + 20) / 1000.0),
             left(webhooks_id_bound('att', ms + (tries - 1) * 60000 + 20), 14) || lpad((k * 4 + tries)::text, 16, '0'),
             to_timestamp(ms / 1000.0), CASE WHEN status <> 'PENDING' THEN to_timestamp((ms + (tries - 1) * 60000 + 200) / 1000.0) END
      FROM dl
    )
    INSERT INTO ${table('delivery_attempts')} (id, org_id, delivery_id, endpoint_id, event_type, attempt_number, trigger, started_at, duration_ms,
                                   succeeded, request_headers, response_status, response_headers, response_body, error_class, error_message)
    SELECT left(webhooks_id_bound('att', am), 14) || lpad((k * 4 + a)::text, 16, '0'), ${c.orgId},
           left(webhooks_id_bound('dlv', ms), 14) || lpad(k::text, 16, '0'), ep, 'bench.history.' || (n % 10), a, 'SCHEDULED',
           to_timestamp(am / 1000.0), dur, ok,
           jsonb_build_object('content-type', 'application/json', 'user-agent', 'org-webhooks/0.1 (+https://www.standardwebhooks.com)',
                              'webhook-id', left(webhooks_id_bound('evt', ms), 14) || lpad(n::text, 16, '0'),
                              'webhook-timestamp', (am / 1000)::text,
                              'webhook-signature', 'v1,' || md5(k::text) || 'AbCdEfGhIjK='),
           CASE WHEN ok THEN 200 ELSE 503 END,
           jsonb_build_object('content-type', 'application/json', 'date', 'Thu, 03 Dec 2026 12:00:00 GMT'),
           CASE WHEN ok THEN '{"ok":true}' ELSE '{"error":"unavailable"}' END,
           CASE WHEN ok THEN NULL ELSE 'HTTP_STATUS' END::error_class,
           CASE WHEN ok THEN NULL ELSE 'HTTP 503 Service Unavailable' END
    FROM dl CROSS JOIN LATERAL (
      SELECT a, ms + (a - 1) * 60000 + 20 AS am, 5 + (k * 7 + a) % 195 AS dur,
             (a = tries AND status = 'SUCCEEDED') AS ok
      FROM generate_series(1, tries) a
    ) x`;
}
