/**
 * Every hot statement over the partitioned history plans only the day partitions it needs.
 * A statement Postgres cannot prune when it plans locks every partition and every index of it
 * (max_locks_per_transaction × connections is the whole lock table) and plans them all. The
 * statements are captured as the code sends them (postgres.js `debug`), then EXPLAINed with their
 * parameters on ~45 day partitions per table: each must name fewer partitions than the table
 * has, within its own bound, and none may be left to run-time pruning.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Sql } from 'postgres';
import { drizzle } from 'drizzle-orm/postgres-js';
import { startTestService, type TestService } from '../helpers/service.js';
import { openPostgres, type Database } from '../../server/db/client.js';
import { DAY_MS, HISTORY_TABLES, type HistoryTable } from '../../server/domain/historyPartitions.js';
import { idLowerBound } from '../../server/domain/ids.js';
import { createDeliveriesRepo } from '../../server/db/repos/deliveries.js';
import { createEventsRepo } from '../../server/db/repos/events.js';
import { createStatsRepo } from '../../server/db/repos/stats.js';
import { strictBlockedQuery, unparkHeadsQuery } from '../../server/db/repos/strictOrdering.js';
import { attemptsJson, deliveryUpdatesJson, insertAttemptsSql, updateDeliveriesSql } from '../../server/db/repos/attempts.js';
import { LOAD_SQL } from '../../server/db/repos/workerReads.js';
import { liveAttemptsQuery } from '../../server/db/repos/liveRows.js';
import { purgePayloads } from '../../server/engine/retention.js';
import { createRecovery } from '../../server/engine/recovery.js';
import { createPublisher } from '../../server/engine/publish.js';

let service: TestService;
let captured: { text: string; params: unknown[] }[] = [];
let cap: Sql;
let capDb: ReturnType<typeof drizzle>;
const now = Date.now();
const DAYS = 44;
let endpointId: string;
let partitionCount: Record<HistoryTable, number>;

beforeAll(async () => {
  service = await startTestService({ WEBHOOKS_ROLES: 'api' });
  for (let k = DAYS; k >= 0; k -= 4) await service.engine.history.ensurePartitions(now - k * DAY_MS);
  const sql = service.database.sql;
  endpointId = (await sql`INSERT INTO endpoints (id, org_id, url) VALUES (${'ep_01JZZZZZZZZZZZZZZZZZZZZZZZ'}, ${service.orgId}, 'https://example.test/') RETURNING id`)[0]!.id;
  // 30 events a day for DAYS days, one delivery and one attempt each; some pending, dead, keyed.
  await sql`
    WITH g AS (SELECT n, ${now}::bigint - n::bigint * ${Math.floor((DAYS * DAY_MS) / (DAYS * 30))}::bigint AS ms FROM generate_series(1, ${DAYS * 30}) n)
    , e AS (INSERT INTO events (id, org_id, type, data, ordering_key, created_at)
            SELECT left(webhooks_id_bound('evt', ms), 14) || lpad(n::text, 16, '0'), ${service.orgId},
                   CASE WHEN n % 3 = 0 THEN 'pipeline.run.failed' ELSE 'pipeline.run.succeeded' END, '{"x":1}', 'run-' || (n % 7), to_timestamp(ms / 1000.0) FROM g)
    , d AS (INSERT INTO deliveries (id, org_id, event_id, endpoint_id, event_type, ordering_key, status, attempt_count, created_at, last_attempt_at)
            SELECT left(webhooks_id_bound('dlv', ms), 14) || lpad(n::text, 16, '0'), ${service.orgId}, left(webhooks_id_bound('evt', ms), 14) || lpad(n::text, 16, '0'),
                   ${endpointId}, CASE WHEN n % 3 = 0 THEN 'pipeline.run.failed' ELSE 'pipeline.run.succeeded' END, 'run-' || (n % 7),
                   (CASE WHEN n % 10 = 0 THEN 'PENDING' WHEN n % 10 = 1 THEN 'DEAD' ELSE 'SUCCEEDED' END)::delivery_status, 1,
                   to_timestamp(ms / 1000.0), to_timestamp((ms + 500) / 1000.0) FROM g)
    INSERT INTO delivery_attempts (id, org_id, delivery_id, endpoint_id, event_type, attempt_number, trigger, started_at, duration_ms, succeeded, request_headers)
    SELECT left(webhooks_id_bound('att', ms + 500), 14) || lpad(n::text, 16, '0'), ${service.orgId}, left(webhooks_id_bound('dlv', ms), 14) || lpad(n::text, 16, '0'),
           ${endpointId}, 'pipeline.run.failed', 1, 'SCHEDULED', to_timestamp((ms + 500) / 1000.0), 10 + n % 50, n % 10 > 1, '{}'::jsonb FROM g`;
  await sql`ANALYZE events, deliveries, delivery_attempts`;
  partitionCount = Object.fromEntries(
    await Promise.all(HISTORY_TABLES.map(async (t) => [t, (await service.engine.history.partitions.list(t)).partitions.length + 1])),
  ) as Record<HistoryTable, number>;
  cap = openPostgres(service.testDatabase.url, {
    max: 1,
    onnotice: () => {},
    debug: (_connection, text, params) => captured.push({ text, params: params as unknown[] }),
    connection: { plan_cache_mode: 'force_custom_plan' },
  });
  capDb = drizzle(openPostgres(service.testDatabase.url, {
    max: 1,
    onnotice: () => {},
    debug: (_connection, text, params) => captured.push({ text, params: params as unknown[] }),
    connection: { plan_cache_mode: 'force_custom_plan' },
  }));
});
afterAll(async () => {
  await cap?.end();
  await (capDb as unknown as { $client: Sql })?.$client.end();
  await service?.close();
});

/** Partitions (by table) each statement `run` sends plans, EXPLAINed with the statement's own parameters. */
async function plans(run: () => Promise<unknown>): Promise<Map<HistoryTable, string[]>[]> {
  captured = [];
  await run();
  const statements = captured.filter((c) => /\b(events|deliveries|delivery_attempts)\b/.test(c.text) && !/^\s*(BEGIN|COMMIT|ROLLBACK|SET)/i.test(c.text));
  // (A page whose cursor is older than its `since` is empty without a statement.)
  const result: Map<HistoryTable, string[]>[] = [];
  for (const s of statements) {
    const [row] = await service.database.sql.unsafe(`EXPLAIN (FORMAT JSON) ${s.text}`, s.params as never[]);
    const text = JSON.stringify(row!['QUERY PLAN']);
    // Plan-time pruning only: a statement pruned at run time has already locked everything.
    expect(text, s.text).not.toMatch(/"Subplans Removed":[1-9]/);
    const touched = new Map<HistoryTable, string[]>();
    for (const m of text.matchAll(/"Relation Name":"([a-z_0-9]+)"/g)) {
      const table = HISTORY_TABLES.find((t) => m[1]!.startsWith(`${t}_p`) || m[1] === `${t}_default`);
      if (table) touched.set(table, [...new Set([...(touched.get(table) ?? []), m[1]!])]);
    }
    for (const [table, parts] of touched) expect(parts.length, `${s.text}\nplans ${parts.length} of ${partitionCount[table]} partitions`).toBeLessThan(partitionCount[table]);
    result.push(touched);
  }
  return result;
}
const most = (p: Map<HistoryTable, string[]>[], table: HistoryTable) => Math.max(0, ...p.map((m) => m.get(table)?.length ?? 0));

describe('history statements plan only the partitions they need', () => {
  it('deliveries(filter): every filter, first and deep pages, sparse filters walking back window by window', async () => {
    const repo = createDeliveriesRepo(capDb as never);
    const deep = idLowerBound('delivery', now - 30 * DAY_MS);
    const filters = [
      {},
      { endpointId },
      { statuses: ['DEAD' as const] },
      { eventType: 'pipeline.run.failed' },
      { since: new Date(now - 2 * DAY_MS) },
      { since: new Date(now - 31 * DAY_MS), until: new Date(now - 29 * DAY_MS) },
      { eventId: idLowerBound('event', now - 10 * DAY_MS) },
    ];
    for (const filter of filters) {
      for (const after of [null, deep]) {
        const p = await plans(() => repo.list(service.orgId, filter, { first: 5, after }));
        expect(most(p, 'deliveries')).toBeLessThanOrEqual(6);
      }
    }
    // Nothing matches: every window is read, none wider than 16 days (+ the DEFAULT partition).
    const sparse = await plans(() => repo.list(service.orgId, { eventType: 'no.such.type' }, { first: 5 }));
    expect(sparse.length).toBeGreaterThan(3);
    expect(most(sparse, 'deliveries')).toBeLessThanOrEqual(18);
  });

  it('events(filter), first and deep pages', async () => {
    const repo = createEventsRepo(capDb as never);
    for (const filter of [{}, { type: 'pipeline.run.failed' }, { orderingKey: 'run-3' }, { since: new Date(now - DAY_MS) }]) {
      for (const after of [null, idLowerBound('event', now - 20 * DAY_MS)]) {
        expect(most(await plans(() => repo.list(service.orgId, filter, { first: 5, after })), 'events')).toBeLessThanOrEqual(6);
      }
    }
  });

  it('delivery(id) with its attempts and event, an event\'s deliveries', async () => {
    const repo = createDeliveriesRepo(capDb as never);
    const old = (await service.database.sql`SELECT * FROM deliveries WHERE id < ${idLowerBound('delivery', now - 20 * DAY_MS)} ORDER BY id DESC LIMIT 1`)[0]!;
    expect(most(await plans(() => repo.findForOrg(service.orgId, old.id)), 'deliveries')).toBe(1);
    expect(most(await plans(() => repo.findByIds([old.id])), 'deliveries')).toBe(1);
    const attempts = await plans(() => repo.attemptsOf([{ id: old.id, lastAttemptAt: old.last_attempt_at, completedAt: old.completed_at }]));
    expect(most(attempts, 'delivery_attempts')).toBeLessThanOrEqual(2);
    expect(most(await plans(() => repo.byEvents([old.event_id])), 'deliveries')).toBeLessThanOrEqual(2);
    expect(most(await plans(() => createEventsRepo(capDb as never).findByIds([old.event_id])), 'events')).toBe(1);
  });

  it('deliveryStats over 24 hours and 7 days', async () => {
    const stats = createStatsRepo(cap);
    for (const [days, bucketSeconds, max] of [[1, 3600, 3], [7, 3600 * 6, 9]] as const) {
      const q = { endpointId, since: new Date(now - days * DAY_MS), until: new Date(now), bucketSeconds };
      expect(most(await plans(() => stats.buckets(q)), 'delivery_attempts')).toBeLessThanOrEqual(max);
      expect(most(await plans(() => stats.failuresByErrorClass(q)), 'delivery_attempts')).toBeLessThanOrEqual(max);
    }
  });

  it('the live stream\'s attempt loads, the worker\'s round load, STRICT checks and attempt records', async () => {
    const rows = await service.database.sql`SELECT a.id, a.delivery_id, d.event_id FROM delivery_attempts a JOIN deliveries d ON d.id = a.delivery_id ORDER BY a.id DESC LIMIT 3`;
    const live = await plans(() => liveAttemptsQuery(capDb as never).prepare('t_live').execute({ ids: rows.map((r) => r.id), deliveryIds: rows.map((r) => r.delivery_id) }));
    expect(most(live, 'deliveries')).toBeLessThanOrEqual(2);
    expect(most(live, 'delivery_attempts')).toBeLessThanOrEqual(2);
    const round = await plans(() => cap.unsafe(LOAD_SQL, [rows.map((r) => r.delivery_id), rows.map((r) => r.event_id)] as never[], { prepare: true }));
    expect(most(round, 'deliveries')).toBeLessThanOrEqual(2);
    expect(most(round, 'events')).toBeLessThanOrEqual(2);
    const pendingFrom = idLowerBound('delivery', now - 3 * DAY_MS);
    const strict = await plans(() => strictBlockedQuery(cap, [{ id: rows[0]!.delivery_id, endpointId, orderingKey: 'run-1', seq: 100 }], pendingFrom));
    expect(most(strict, 'deliveries')).toBeLessThanOrEqual(9);
    const unpark = await plans(() => cap.begin((tx) => unparkHeadsQuery(tx, [{ endpointId, orderingKey: 'run-1' }], pendingFrom)));
    expect(most(unpark, 'deliveries')).toBeLessThanOrEqual(9);
    const update = { id: rows[0]!.delivery_id, status: 'SUCCEEDED' as const, attemptCount: 2, nextAttemptAt: null, lastAttemptAt: new Date(), lastAttemptId: 'att_x', completedAt: new Date() };
    const record = await plans(() =>
      cap.begin(async (tx) => {
        await tx.unsafe(`WITH a AS (${insertAttemptsSql('$1')}) ${updateDeliveriesSql('$2', '$3')}`, [attemptsJson([]), deliveryUpdatesJson([update]), [update.id]] as never[], { prepare: true });
        throw new Error('rollback');
      }).catch((err: Error) => {
        if (err.message !== 'rollback') throw err;
      }),
    );
    expect(most(record, 'deliveries')).toBeLessThanOrEqual(1);
  });

  it('publishing (and its idempotent repeats), replays and the payload purge', async () => {
    const database = { sql: cap, db: capDb, signalSql: cap } as unknown as Database;
    const publisher = createPublisher({ database, jobs: service.engine.jobs, wake: { send: () => {}, settled: async () => {} } as never });
    await publisher.publish(service.orgId, [{ type: 'pipeline.run.failed', data: {}, eventId: 'plan-key' }]);
    const repeat = await plans(() => publisher.publish(service.orgId, [{ type: 'pipeline.run.failed', data: {}, eventId: 'plan-key' }]));
    expect(most(repeat, 'events')).toBeLessThanOrEqual(1);
    const recovery = createRecovery({ sql: cap, jobs: service.engine.jobs });
    expect(most(await plans(() => recovery.replayDeliveries(service.orgId, { since: new Date(now - 2 * DAY_MS) })), 'deliveries')).toBeLessThanOrEqual(6);
    const purge = await plans(() => purgePayloads(cap, 30, now));
    expect(most(purge, 'events')).toBeLessThanOrEqual(2);
    expect(most(purge, 'deliveries')).toBeLessThanOrEqual(3);
    expect(most(purge, 'delivery_attempts')).toBeLessThanOrEqual(2);
  });

  it('keeps custom plans for history statements on the main pool (a generic plan would plan and lock every partition)', async () => {
    // The main pool keeps Postgres's default plan_cache_mode (its hot statement, publishing, reads
    // no partition and plans in ~0.35 ms). A generic plan cannot prune partitions when it is made,
    // so a history statement there must keep choosing custom plans, which Postgres does while they
    // are far cheaper than one plan over every partition. Each statement runs well past the five
    // custom plans after which Postgres considers a generic one.
    const sql = openPostgres(service.testDatabase.url, { max: 1, onnotice: () => {} });
    try {
      const stats = createStatsRepo(sql);
      const recovery = createRecovery({ sql, jobs: service.engine.jobs });
      const [old] = await sql`SELECT id FROM deliveries WHERE status = 'SUCCEEDED' ORDER BY id LIMIT 1`;
      for (let i = 0; i < 10; i++) {
        await stats.buckets({ endpointId, since: new Date(now - DAY_MS - i * 60_000), until: new Date(now), bucketSeconds: 3600 });
        await stats.failuresByErrorClass({ endpointId, since: new Date(now - 7 * DAY_MS - i * 60_000), until: new Date(now), bucketSeconds: 3600 });
        await recovery.retryDelivery(service.orgId, old!.id).catch(() => {});
        await recovery.replayDeliveries(service.orgId, { since: new Date(now - (i + 1) * DAY_MS) });
      }
      await purgePayloads(sql, 30, now);
      const rows = await sql<{ statement: string; generic: string; custom: string }[]>`
        SELECT statement, generic_plans AS generic, custom_plans AS custom FROM pg_prepared_statements
        WHERE (statement LIKE '%events%' OR statement LIKE '%deliveries%' OR statement LIKE '%delivery_attempts%')
          AND statement LIKE '%$1%' AND statement NOT LIKE '%pg_prepared_statements%' AND statement NOT LIKE '%pgboss.job%'`;
      expect(rows.length).toBeGreaterThan(3);
      for (const r of rows) expect(Number(r.generic), r.statement).toBe(0);
      expect(Math.max(...rows.map((r) => Number(r.custom)))).toBeGreaterThanOrEqual(10);
    } finally {
      await sql.end();
    }
  });
});
