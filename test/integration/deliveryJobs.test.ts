import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import postgres, { type Sql } from 'postgres';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { createDeliveryJobs, type DeliveryJobs, type FinishedJob } from '../../server/db/repos/deliveryJobs.js';
import { ENDPOINT_DUE_INDEX, QUEUE_FOREIGN_KEYS } from '../../server/db/repos/deliveryJobLayout.js';
import { DELIVERY_QUEUE_OPTIONS, MAINTENANCE_QUEUES, SHARD_COUNT, SHARD_QUEUE_NAMES, shardOf } from '../../server/db/queues.js';
import { timeOrderedUuid } from '../../server/crypto/uuid.js';
import { connectDatabase, LEASE_SESSION } from '../../server/db/client.js';

// pg-boss's own maintenance statements, to check our jobs live by pg-boss's lease rules and that
// its maintenance stays within stock lock memory whatever the number of endpoints.
const plans = createRequire(import.meta.url)('pg-boss/src/plans.js') as {
  failJobsByTimeout(schema: string): string;
  archive(schema: string, completed: string, failed?: string): string;
};

let database: TestDatabase;
let sql: Sql;
let jobs: DeliveryJobs;

beforeAll(async () => {
  database = await createTestDatabase();
  sql = postgres(database.url, { max: 2, onnotice: () => {} });
  jobs = createDeliveryJobs(sql);
  await jobs.ensureLayout();
});
afterAll(async () => {
  await sql?.end();
  await database?.drop();
});

const job = (endpointId: string, i: number, startAfter?: Date | null) => ({ endpointId, deliveryId: `dlv_${i}`, eventId: `evt_${i}`, startAfter });

/** Endpoint ids that fall in the same shard (for fairness within one partition). */
function sameShardIds(count: number, prefix: string): string[] {
  const ids: string[] = [];
  const shard = shardOf(`${prefix}_0`);
  for (let i = 0; ids.length < count; i++) if (shardOf(`${prefix}_${i}`) === shard) ids.push(`${prefix}_${i}`);
  return ids;
}

async function lease(endpointId: string, limit: number, done: FinishedJob[] = []) {
  return jobs.lease(sql, shardOf(endpointId), [{ endpointId, limit }], done);
}

describe('shard queue layout', () => {
  it('creates a fixed set of shard queues with the delivery options, idempotently', async () => {
    await jobs.ensureLayout();
    const rows = await sql`SELECT name, policy, retry_limit, retry_delay, expire_seconds, retention_minutes FROM pgboss.queue WHERE name LIKE 'deliveries\\_s%' ORDER BY name`;
    expect(rows.map((r) => r.name)).toEqual([...SHARD_QUEUE_NAMES]);
    expect(rows[0]).toMatchObject({
      policy: DELIVERY_QUEUE_OPTIONS.policy,
      retry_limit: DELIVERY_QUEUE_OPTIONS.retryLimit,
      retry_delay: DELIVERY_QUEUE_OPTIONS.retryDelay,
      expire_seconds: DELIVERY_QUEUE_OPTIONS.expireInSeconds,
      retention_minutes: DELIVERY_QUEUE_OPTIONS.retentionMinutes,
    });
  });

  it('creates every queue (shards and maintenance) from several starting processes at once without a deadlock', async () => {
    // Two workers starting together deadlocked inside pg-boss's create_queue when one created a
    // maintenance queue outside the layout lock while the other created the shards.
    const fresh = await createTestDatabase();
    const clients = Array.from({ length: 4 }, () => postgres(fresh.url, { max: 1, onnotice: () => {} }));
    try {
      await Promise.all(clients.map((c) => createDeliveryJobs(c).ensureLayout()));
      const rows = await clients[0]!`SELECT name, policy, retry_limit FROM pgboss.queue WHERE name LIKE 'maintenance\\_%' ORDER BY name`;
      expect(rows.map((r) => ({ ...r }))).toEqual(
        Object.values(MAINTENANCE_QUEUES)
          .map((q) => ({ name: q.name, policy: 'singleton', retry_limit: 3 }))
          .sort((a, b) => a.name.localeCompare(b.name)),
      );
    } finally {
      await Promise.all(clients.map((c) => c.end()));
      await fresh.drop();
    }
  });

  it('writes one entry per waiting job in the shard partitions: pg-boss fetch index only on the queues pg-boss fetches', async () => {
    // Each index on a shard partition is one more entry written (and WAL) per delivery.
    const indexes = async (queue: string) =>
      (
        await sql`SELECT i.indexrelid::regclass::text AS name FROM pgboss.queue q
          JOIN pg_index i ON i.indrelid = ('pgboss.' || quote_ident(q.partition_name))::regclass WHERE q.name = ${queue}`
      ).map((r) => (r.name as string).replace(/^.*_/, ''));
    await jobs.ensureLayout();
    for (const name of SHARD_QUEUE_NAMES) expect((await indexes(name)).sort()).toEqual(['i1', 'i2', 'i3', 'i4', 'idx', 'pkey']);
    expect(await indexes(MAINTENANCE_QUEUES.purgePayloads.name)).toContain('i5');
  });

  it('inserts jobs without a per-job check against the queue row, and still refuses a job for a queue that does not exist', async () => {
    await jobs.ensureLayout();
    const [fk] = await sql`SELECT count(*)::int AS n FROM pg_constraint WHERE conname = ANY(${[...QUEUE_FOREIGN_KEYS]})
      AND conrelid IN (SELECT 'pgboss.job'::regclass UNION ALL SELECT inhrelid FROM pg_inherits WHERE inhparent = 'pgboss.job'::regclass)`;
    expect(fk!.n).toBe(0);
    // No trigger left to fire per inserted job on any partition.
    const [triggers] = await sql`SELECT count(*)::int AS n FROM pg_trigger t JOIN pg_inherits i ON i.inhrelid = t.tgrelid
      WHERE i.inhparent = 'pgboss.job'::regclass AND t.tgfoid = 'pg_catalog."RI_FKey_check_ins"'::regproc`;
    expect(triggers!.n).toBe(0);
    // The LIST partitioning by queue name is what refuses it now.
    await expect(sql`INSERT INTO pgboss.job (name, data) VALUES ('no-such-queue', '{}'::jsonb)`).rejects.toThrow(/no partition of relation/);
    // A second start finds nothing to drop (no ALTER TABLE) and succeeds.
    await jobs.ensureLayout();
  });

  it('keeps the number of partitions fixed for any number of endpoints, and pg-boss maintenance within stock lock memory', async () => {
    const partitions = async () =>
      (await sql`SELECT count(*)::int AS n FROM pg_inherits WHERE inhparent = 'pgboss.job'::regclass`)[0]!.n as number;
    const before = await partitions();
    // 5,000 endpoints: the first version made one partition each and ran out of lock memory
    // (max_locks_per_transaction) at about 2,000.
    const many = Array.from({ length: 5000 }, (_, i) => job(`ep_many_${i}`, 100_000 + i));
    await sql.begin((tx) => jobs.enqueue(tx, many));
    expect(await partitions()).toBe(before);
    await sql.unsafe(plans.failJobsByTimeout('pgboss'));
    await sql.unsafe(plans.archive('pgboss', '1 hour'));
    const [waiting] = await sql`SELECT count(*)::int AS n FROM pgboss.job WHERE data->>'p' LIKE 'ep_many_%'`;
    expect(waiting!.n).toBe(5000);
    await sql`DELETE FROM pgboss.job WHERE data->>'p' LIKE 'ep_many_%'`;
  });
});

describe('leases', () => {
  it('leases each endpoint oldest first up to its own limit, skipping future jobs, and says when the next is due', async () => {
    await sql.begin((tx) => jobs.enqueue(tx, [job('ep_a', 1), job('ep_a', 2), job('ep_a', 3, new Date(Date.now() + 60_000)), job('ep_a', 4)]));
    const first = await lease('ep_a', 2);
    expect(first.jobs.map((j) => j.deliveryId)).toEqual(['dlv_1', 'dlv_2']);
    expect(first.jobs[0]).toMatchObject({ endpointId: 'ep_a', eventId: 'evt_1', shard: shardOf('ep_a'), retryCount: 0, manual: false });
    const rest = await lease('ep_a', 10);
    expect(rest.jobs.map((j) => j.deliveryId)).toEqual(['dlv_4']);
    expect(rest.nextDueMs.get('ep_a')).toBeGreaterThan(Date.now() + 50_000);
    // The finished jobs go with the next lease of the shard.
    const empty = await lease('ep_a', 10, [...first.jobs, ...rest.jobs]);
    expect(empty.jobs).toEqual([]);
    const [left] = await sql`SELECT count(*)::int AS n FROM pgboss.job WHERE data->>'p' = 'ep_a'`;
    expect(left!.n).toBe(1);
  });

  it('starts walking an endpoint\'s due jobs where it is told, and says how late the jobs it leased were due', async () => {
    const base = Date.now() - 60_000;
    await sql.begin((tx) => jobs.enqueue(tx, [1, 2, 3, 4].map((i) => job('ep_start', 100 + i, new Date(base + i * 1_000)))));
    const shard = shardOf('ep_start');
    const fromThird = await jobs.lease(sql, shard, [{ endpointId: 'ep_start', limit: 10, startMs: base + 3_000 }], []);
    expect(fromThird.jobs.map((j) => j.deliveryId)).toEqual(['dlv_103', 'dlv_104']);
    expect(fromThird.lastDueMs.get('ep_start')).toBeCloseTo(base + 4_000, -1);
    // Without a start the whole range is walked: the two skipped are still there.
    const all = await jobs.lease(sql, shard, [{ endpointId: 'ep_start', limit: 10, startMs: null }], fromThird.jobs);
    expect(all.jobs.map((j) => j.deliveryId)).toEqual(['dlv_101', 'dlv_102']);
    expect(all.lastDueMs.get('ep_start')).toBeCloseTo(base + 2_000, -1);
    await jobs.remove(sql, shard, all.jobs);
  });

  it('serves many endpoints of one shard in one statement, a backlog on one never crowding out another', async () => {
    const [busy, quiet, other] = sameShardIds(3, 'ep_fair');
    const backlog = Array.from({ length: 3000 }, (_, i) => job(busy!, 10_000 + i));
    await sql.begin((tx) => jobs.enqueue(tx, backlog));
    await sql.begin((tx) => jobs.enqueue(tx, [job(quiet!, 20_001), job(other!, 20_002), job(other!, 20_003)]));
    const result = await jobs.lease(sql, shardOf(busy!), [
      { endpointId: busy!, limit: 16 },
      { endpointId: quiet!, limit: 16 },
      { endpointId: other!, limit: 1 },
    ], []);
    const by = (id: string) => result.jobs.filter((j) => j.endpointId === id).map((j) => j.deliveryId);
    expect(by(busy!)).toHaveLength(16);
    expect(by(busy!)[0]).toBe('dlv_10000');
    expect(by(quiet!)).toEqual(['dlv_20001']);
    expect(by(other!)).toEqual(['dlv_20002']);
    await sql`DELETE FROM pgboss.job WHERE data->>'p' LIKE 'ep_fair_%'`;
  });

  it('gives a leased job back by pg-boss lease expiry, by takeover, and by requeue', async () => {
    await sql.begin((tx) => jobs.enqueue(tx, [job('ep_b', 10, null)]));
    const [leased] = (await lease('ep_b', 1)).jobs;
    expect(leased).toBeDefined();
    expect((await lease('ep_b', 1)).jobs).toEqual([]);

    // pg-boss maintenance: a lease older than expire_in is expired back to `retry`.
    await sql`UPDATE pgboss.job SET started_on = now() - interval '10 minutes' WHERE id = ${leased!.id}`;
    await sql.unsafe(plans.failJobsByTimeout('pgboss'));
    const [again] = (await lease('ep_b', 1)).jobs;
    expect(again!.id).toBe(leased!.id);
    expect(again!.retryCount).toBe(1);

    // Takeover by a new owner: only the endpoints it owns.
    expect(await jobs.releaseActive([shardOf('ep_b')], (id) => id !== 'ep_b')).toBe(0);
    expect(await jobs.releaseActive([shardOf('ep_b')], (id) => id === 'ep_b')).toBe(1);
    const [taken] = (await lease('ep_b', 1)).jobs;
    expect(taken!.id).toBe(leased!.id);

    // Requeue for later (breaker open): not leased before its time.
    await sql.begin((tx) => jobs.requeue(tx, [{ shard: shardOf('ep_b'), jobId: taken!.id, startAfter: new Date(Date.now() + 60_000) }]));
    expect((await lease('ep_b', 1)).jobs).toEqual([]);
    await sql`UPDATE pgboss.job SET start_after = now() WHERE id = ${taken!.id}`;
    expect((await lease('ep_b', 1)).jobs.map((j) => j.id)).toEqual([taken!.id]);
  });

  it('marks manual and single-attempt jobs, and hurries a waiting retry', async () => {
    await sql.begin((tx) => jobs.enqueue(tx, [{ ...job('ep_c', 20), manual: true, singleAttempt: true }]));
    expect((await lease('ep_c', 1)).jobs[0]).toMatchObject({ deliveryId: 'dlv_20', manual: true, singleAttempt: true });
    await sql.begin((tx) => jobs.enqueue(tx, [{ ...job('ep_c', 21, new Date(Date.now() + 3_600_000)), attemptsMade: 2 }]));
    expect((await lease('ep_c', 1)).jobs).toEqual([]);
    const moved = await sql.begin((tx) => jobs.hurry(tx, [{ endpointId: 'ep_c', deliveryId: 'dlv_21' }]));
    expect([...moved]).toEqual(['dlv_21']);
    expect((await lease('ep_c', 1)).jobs[0]).toMatchObject({ deliveryId: 'dlv_21', manual: true, attemptsMade: 2 });
  });
});

describe('finding and removing jobs', () => {
  it('deletes a finished job by the address of its leased row, and only while that row is still the job', async () => {
    const shard = shardOf('ep_tid');
    await sql.begin((tx) => jobs.enqueue(tx, [job('ep_tid', 40), job('ep_tid', 41), job('ep_tid', 42)]));
    const [a, b, c] = (await lease('ep_tid', 3)).jobs;
    expect(a!.tid).toMatch(/^\(\d+,\d+\)$/);
    // The lease of `b` expired meanwhile (pg-boss moved its row): the old address deletes nothing.
    await sql`UPDATE pgboss.job SET state = 'retry' WHERE id = ${b!.id}`;
    // Another job's id at `c`'s address deletes nothing either.
    expect(await jobs.remove(sql, shard, [a!, b!, { id: a!.id, tid: c!.tid }])).toBe(1);
    const left = await sql<{ id: string }[]>`SELECT id FROM pgboss.job WHERE data->>'p' = 'ep_tid' ORDER BY id`;
    expect(left.map((r) => r.id)).toEqual([b!.id, c!.id].sort());
    // Taken again, `b` has a new address, which deletes it (with `c`, through a lease statement).
    const [again] = (await lease('ep_tid', 1)).jobs;
    expect(again!.id).toBe(b!.id);
    expect(again!.tid).not.toBe(b!.tid);
    await lease('ep_tid', 1, [again!, c!]);
    expect((await sql`SELECT count(*)::int AS n FROM pgboss.job WHERE data->>'p' = 'ep_tid'`)[0]!.n).toBe(0);
  });

  it('plans the lease\'s update and the delete of finished jobs as fetches by address, once for every execution, whatever the statistics say', async () => {
    const shard = shardOf('ep_plan');
    const table = jobs.partitionOf(shard);
    // Statistics from when the shard was nearly empty, then a backlog it knows nothing about.
    await sql.begin((tx) => jobs.enqueue(tx, [job('ep_plan', 50)]));
    await sql.unsafe(`ANALYZE ${table}`);
    await sql.begin((tx) => jobs.enqueue(tx, Array.from({ length: 20_000 }, (_, i) => job('ep_plan', 60_000 + i))));
    // The service's lease pool runs with these settings (the worker leases on it: engine/index.ts).
    const service = connectDatabase({ url: database.url, poolSize: 10 });
    const [settings] = await service.leaseSql`SELECT current_setting('plan_cache_mode') AS plans, current_setting('enable_seqscan') AS seqscan`;
    await service.close();
    expect(settings).toEqual({ plans: 'force_generic_plan', seqscan: 'off' });
    // The statements as the worker's lease pool sends and plans them (Database.leaseSql).
    const sent: { text: string; params: unknown[] }[] = [];
    const leasePool = postgres(database.url, {
      max: 1,
      onnotice: () => {},
      connection: { ...LEASE_SESSION },
      debug: (_c, text, params) => sent.push({ text, params: params as unknown[] }),
    });
    const workerJobs = createDeliveryJobs(leasePool);
    await workerJobs.ensureLayout();
    // Planned once and executed again and again, each lease takes the oldest jobs, as many as asked.
    let done: FinishedJob[] = [];
    let next = 0;
    for (let round = 0; round < 8; round++) {
      // Every other lease starts late (worker/pickFloor.ts): the same statement, a start or null.
      const startMs = round % 2 === 1 ? Date.now() - 3_600_000 : null;
      const leased = (await workerJobs.lease(leasePool, shard, [{ endpointId: 'ep_plan', limit: 25, startMs }], done)).jobs;
      expect(leased.map((j) => j.deliveryId)).toEqual(Array.from({ length: 25 }, (_, k) => `dlv_${round === 0 && k === 0 ? 50 : 60_000 + next + k - (round === 0 ? 1 : 0)}`));
      next += round === 0 ? 24 : 25;
      done = leased;
    }
    await workerJobs.remove(leasePool, shard, done);
    expect((await sql`SELECT count(*)::int AS n FROM pgboss.job WHERE data->>'p' = 'ep_plan'`)[0]!.n).toBe(20_001 - 200);

    // This partition's copy of the endpoint due index.
    const [{ dueIndex } = { dueIndex: '' }] = await sql<{ dueIndex: string }[]>`
      SELECT c.relname AS "dueIndex" FROM pg_inherits h JOIN pg_index i ON i.indexrelid = h.inhrelid JOIN pg_class c ON c.oid = i.indexrelid
      WHERE h.inhparent = ${`pgboss.${ENDPOINT_DUE_INDEX}`}::regclass AND i.indrelid = ${table}::regclass`;
    const statements = [...new Map(sent.filter((s) => s.text.includes(table) && /DELETE|UPDATE/.test(s.text)).map((s) => [s.text, s])).values()];
    expect(statements).toHaveLength(3);
    for (const [n, s] of statements.entries()) {
      const types = s.text.includes('removed AS') ? 'text, text, tid[], uuid[]' : s.text.startsWith('DELETE') ? 'tid[], uuid[]' : 'text, text';
      await leasePool.unsafe(`PREPARE plan_${n} (${types}) AS ${s.text}`);
      // EXECUTE takes no bind parameters inside EXPLAIN: the statement's own values as literals.
      const quote = (v: string) => `'${v.replace(/'/g, "''")}'`;
      const args = types
        .split(', ')
        .map((t, k) => {
          const v = s.params[k];
          return Array.isArray(v) ? `ARRAY[${v.map((x) => quote(String(x))).join(', ')}]::${t}` : `${quote(String(v))}::${t}`;
        })
        .join(', ');
      const [row] = await leasePool.unsafe(`EXPLAIN (FORMAT JSON) EXECUTE plan_${n} (${args})`);
      const plan = JSON.stringify(row!['QUERY PLAN']);
      // Each DELETE and UPDATE fetches its rows by address, never through an index of the shard.
      const modify = [...plan.matchAll(/"Operation":"(Update|Delete)"/g)].length;
      expect(modify, s.text).toBeGreaterThan(0);
      expect([...plan.matchAll(/"Node Type":"Tid Scan"/g)].length, s.text).toBe(modify);
      expect(plan, s.text).not.toMatch(/Seq Scan|"Node Type":"Sort"/);
      // The pick and the next due time walk the endpoint index, in its order.
      if (!s.text.startsWith('DELETE')) expect(new Set([...plan.matchAll(/"Index Name":"([^"]+)"/g)].map((m) => m[1])), s.text).toEqual(new Set([dueIndex]));
      // The pick's start (worker/pickFloor.ts) bounds the index range, not a filter over it.
      if (s.text.includes('picked AS')) expect(plan, s.text).toMatch(/"Index Cond":"[^"]*start_after <= now\(\)\) AND \(start_after >= COALESCE/);
    }
    await leasePool.end();
  });

  it('discovers the endpoints of a shard with waiting jobs and their earliest due time, page by page', async () => {
    const ids = sameShardIds(5, 'ep_disc');
    const later = new Date(Date.now() + 120_000);
    await sql.begin((tx) =>
      jobs.enqueue(tx, [
        ...Array.from({ length: 50 }, (_, i) => job(ids[0]!, 30_000 + i)),
        job(ids[1]!, 30_100, later),
        job(ids[1]!, 30_101, new Date(later.getTime() + 60_000)),
        job(ids[2]!, 30_200),
      ]),
    );
    const shard = shardOf(ids[0]!);
    const all = (await jobs.discover(shard, '', 10_000)).filter((d) => d.endpointId.startsWith('ep_disc'));
    expect(all.map((d) => d.endpointId)).toEqual([ids[0], ids[1], ids[2]].sort());
    expect(all.find((d) => d.endpointId === ids[1])!.dueMs).toBe(later.getTime());
    // Pagination by endpoint id.
    const firstPage = await jobs.discover(shard, 'ep_disc', 1);
    expect(firstPage).toHaveLength(1);
    const next = await jobs.discover(shard, firstPage[0]!.endpointId, 1);
    expect(next[0]!.endpointId > firstPage[0]!.endpointId).toBe(true);
  });

  it('removes the waiting jobs of a deleted endpoint and cleans up orphans of deleted or unknown endpoints', async () => {
    await sql.begin((tx) => jobs.enqueue(tx, [job('ep_del', 40), job('ep_del', 41), job('ep_keep', 42)]));
    expect(await sql.begin((tx) => jobs.removeForEndpoint(tx, 'ep_del'))).toBe(2);
    await sql.begin((tx) => jobs.enqueue(tx, [job('ep_unknown', 43)]));
    // ep_keep has no endpoint row either: both are orphans.
    expect(await jobs.removeOrphans(['ep_unknown', 'ep_keep'])).toBe(2);
    const [left] = await sql`SELECT count(*)::int AS n FROM pgboss.job WHERE data->>'p' IN ('ep_del', 'ep_keep', 'ep_unknown')`;
    expect(left!.n).toBe(0);
  });

  it('counts waiting and leased jobs across the shards', async () => {
    const depth = await jobs.depth();
    expect(depth.waiting).toBeGreaterThan(0);
    expect(SHARD_COUNT).toBe(jobs.shardCount);
  });

  it('makes time-ordered UUIDs that sort in creation order within one millisecond', () => {
    const ids = Array.from({ length: 2000 }, () => timeOrderedUuid());
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids[0]).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });
});
