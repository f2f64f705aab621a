import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import postgres, { type Sql } from 'postgres';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { createJobQueue, timeOrderedUuid, type JobQueue } from '../../server/engine/jobQueue.js';
import { DELIVERY_QUEUE_OPTIONS } from '../../server/engine/jobs.js';
import { createRoundFetcher } from '../../server/engine/fetchRound.js';

// pg-boss's own maintenance statement, to check our jobs live by pg-boss's lease rules.
const plans = createRequire(import.meta.url)('pg-boss/src/plans.js') as { failJobsByTimeout(schema: string): string };

let database: TestDatabase;
let sql: Sql;
let queue: JobQueue;

beforeAll(async () => {
  database = await createTestDatabase();
  sql = postgres(database.url, { max: 2, onnotice: () => {} });
  queue = createJobQueue(sql);
});
afterAll(async () => {
  await sql?.end();
  await database?.drop();
});

const job = (endpointId: string, i: number, startAfter?: Date) => ({ endpointId, deliveryId: `dlv_${i}`, eventId: `evt_${i}`, startAfter });

describe('delivery queue on pg-boss tables', () => {
  it('creates a queue with the delivery options inside a transaction', async () => {
    await sql.begin((tx) => queue.createEndpointQueue(tx, 'ep_a'));
    const [row] = await sql`SELECT policy, retry_limit, retry_delay, expire_seconds, retention_minutes FROM pgboss.queue WHERE name = 'deliver_ep_a'`;
    expect(row).toEqual({
      policy: DELIVERY_QUEUE_OPTIONS.policy,
      retry_limit: DELIVERY_QUEUE_OPTIONS.retryLimit,
      retry_delay: DELIVERY_QUEUE_OPTIONS.retryDelay,
      expire_seconds: DELIVERY_QUEUE_OPTIONS.expireInSeconds,
      retention_minutes: DELIVERY_QUEUE_OPTIONS.retentionMinutes,
    });
  });

  it('fetches due jobs oldest first, including jobs written by one transaction, and skips future ones', async () => {
    const written = await sql.begin((tx) =>
      queue.enqueue(tx, [job('ep_a', 1), job('ep_a', 2), job('ep_a', 3, new Date(Date.now() + 60_000)), job('ep_a', 4), job('ep_missing', 5)]),
    );
    // A job for an endpoint without a queue is not written, and the caller learns which.
    expect([...written].sort()).toEqual(['dlv_1', 'dlv_2', 'dlv_3', 'dlv_4']);
    const first = await queue.fetch('ep_a', 2);
    expect(first.map((j) => j.deliveryId)).toEqual(['dlv_1', 'dlv_2']);
    const rest = await queue.fetch('ep_a', 10);
    expect(rest.map((j) => j.deliveryId)).toEqual(['dlv_4']);
    expect(await queue.fetch('ep_a', 10)).toEqual([]);
    const due = await queue.nextDue(['ep_a']);
    expect(due.get('ep_a')!.getTime()).toBeGreaterThan(Date.now() + 50_000);
    await queue.removeMany(sql, [...first, ...rest].map((j) => ({ endpointId: 'ep_a', jobId: j.id })));
  });

  it('gives a leased job back by pg-boss lease expiry, by takeover, and by requeue', async () => {
    await sql.begin((tx) => queue.createEndpointQueue(tx, 'ep_b'));
    await sql.begin((tx) => queue.enqueue(tx, [job('ep_b', 10, null as unknown as undefined)]));
    const [leased] = await queue.fetch('ep_b', 1);
    expect(leased).toBeDefined();
    expect(await queue.fetch('ep_b', 1)).toEqual([]);

    // pg-boss maintenance: a lease older than expire_in is expired back to `retry`.
    await sql`UPDATE pgboss.job SET started_on = now() - interval '10 minutes' WHERE id = ${leased!.id}`;
    await sql.unsafe(plans.failJobsByTimeout('pgboss'));
    const [again] = await queue.fetch('ep_b', 1);
    expect(again!.id).toBe(leased!.id);
    expect(again!.retryCount).toBe(1);

    // Takeover by a new owner.
    expect(await queue.releaseActive(['ep_b'])).toBe(1);
    const [taken] = await queue.fetch('ep_b', 1);
    expect(taken!.id).toBe(leased!.id);

    // Requeue for later (breaker open): not fetchable before its time.
    await sql.begin((tx) => queue.requeue(tx, [{ endpointId: 'ep_b', jobId: taken!.id, startAfter: new Date(Date.now() + 60_000) }]));
    expect(await queue.fetch('ep_b', 1)).toEqual([]);
    await sql`UPDATE pgboss.job SET start_after = now() WHERE id = ${taken!.id}`;
    expect((await queue.fetch('ep_b', 1)).map((j) => j.id)).toEqual([taken!.id]);
  });

  it('marks manual and single-attempt jobs', async () => {
    await sql.begin((tx) => queue.enqueue(tx, [{ ...job('ep_b', 20), manual: true, singleAttempt: true }]));
    const [fetched] = await queue.fetch('ep_b', 1);
    expect(fetched).toMatchObject({ deliveryId: 'dlv_20', manual: true, singleAttempt: true });
  });

  it('drops a queue with its jobs', async () => {
    await sql.begin((tx) => queue.enqueue(tx, [job('ep_b', 30)]));
    await queue.dropEndpointQueue('ep_b');
    await queue.dropEndpointQueue('ep_b'); // idempotent
    const [row] = await sql`SELECT count(*)::int AS n FROM pgboss.job WHERE name = 'deliver_ep_b'`;
    expect(row!.n).toBe(0);
    expect(await sql`SELECT 1 FROM pgboss.queue WHERE name = 'deliver_ep_b'`).toHaveLength(0);
  });

  it('makes time-ordered UUIDs that sort in creation order within one millisecond', () => {
    const ids = Array.from({ length: 2000 }, () => timeOrderedUuid());
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids[0]).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });
});

describe('fetch rounds on queue partitions', () => {
  it('names each endpoint queue partition as pg-boss created it', async () => {
    await sql.begin((tx) => queue.createEndpointQueue(tx, 'ep_p'));
    const [row] = await sql`SELECT c.oid::regclass::text AS t FROM pg_inherits i
      JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent
      JOIN pg_namespace n ON n.oid = p.relnamespace
      WHERE n.nspname = 'pgboss' AND p.relname = 'job' AND pg_get_expr(c.relpartbound, c.oid) LIKE '%deliver_ep_p%'`;
    expect(queue.partitionTable('ep_p').replaceAll('"', '')).toBe(row!.t);
  });

  it('leases per endpoint in order, deletes finished jobs, and answers one result per request', async () => {
    await sql.begin(async (tx) => {
      await queue.createEndpointQueue(tx, 'ep_r1');
      await queue.createEndpointQueue(tx, 'ep_r2');
    });
    await sql.begin((tx) => queue.enqueue(tx, [job('ep_r1', 41), job('ep_r2', 42), job('ep_r1', 43), job('ep_r1', 44)]));
    const fetchRound = createRoundFetcher({ sql, jobQueue: queue });
    const first = await fetchRound(
      [
        { endpointId: 'ep_r1', limit: 2 },
        { endpointId: 'ep_r2', limit: 5 },
      ],
      new Map(),
    );
    expect(first.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled']);
    const [r1, r2] = first.map((r) => (r as PromiseFulfilledResult<{ job: { deliveryId: string; id: string }; delivery: unknown }[]>).value);
    expect(r1!.map((w) => w.job.deliveryId)).toEqual(['dlv_41', 'dlv_43']);
    expect(r2!.map((w) => w.job.deliveryId)).toEqual(['dlv_42']);
    // No delivery rows exist for these jobs: the round says so rather than inventing one.
    expect(r1!.every((w) => w.delivery === null)).toBe(true);

    // The next round deletes what finished and leases what is left.
    const second = await fetchRound([{ endpointId: 'ep_r1', limit: 5 }], new Map([['ep_r1', r1!.map((w) => w.job.id)]]));
    const rest = (second[0] as PromiseFulfilledResult<{ job: { deliveryId: string } }[]>).value;
    expect(rest.map((w) => w.job.deliveryId)).toEqual(['dlv_44']);
    const [left] = await sql`SELECT count(*)::int AS n FROM pgboss.job WHERE name = 'deliver_ep_r1'`;
    expect(left!.n).toBe(1);
  });

  it('reports a failed load per endpoint with that endpoint\'s own leased jobs', async () => {
    await sql.begin(async (tx) => {
      await queue.createEndpointQueue(tx, 'ep_f1');
      await queue.createEndpointQueue(tx, 'ep_f2');
    });
    await sql.begin((tx) => queue.enqueue(tx, [job('ep_f1', 51), job('ep_f2', 52), job('ep_f2', 53)]));
    const fetchRound = createRoundFetcher({ sql, jobQueue: queue });
    await sql`ALTER TABLE deliveries RENAME TO deliveries_away`;
    let results;
    try {
      results = await fetchRound(
        [
          { endpointId: 'ep_f1', limit: 5 },
          { endpointId: 'ep_f2', limit: 5 },
        ],
        new Map(),
      );
    } finally {
      await sql`ALTER TABLE deliveries_away RENAME TO deliveries`;
    }
    const leased = results.map((r) => {
      expect(r.status).toBe('rejected');
      return ((r as PromiseRejectedResult).reason as { leased: { deliveryId: string }[] }).leased.map((j) => j.deliveryId).sort();
    });
    expect(leased).toEqual([['dlv_51'], ['dlv_52', 'dlv_53']]);
  });
});

describe('queues dropped while in use', () => {
  it('answers empty, not an error, for a queue dropped meanwhile', async () => {
    await sql.begin((tx) => queue.createEndpointQueue(tx, 'ep_gone'));
    await sql.begin((tx) => queue.enqueue(tx, [job('ep_gone', 60)]));
    const fetchRound = createRoundFetcher({ sql, jobQueue: queue });
    const [leased] = await fetchRound([{ endpointId: 'ep_gone', limit: 5 }], new Map());
    const ids = (leased as PromiseFulfilledResult<{ job: { id: string } }[]>).value.map((w) => w.job.id);
    expect(ids).toHaveLength(1);
    await queue.dropEndpointQueue('ep_gone');
    const again = await fetchRound([{ endpointId: 'ep_gone', limit: 5 }], new Map([['ep_gone', ids]]));
    expect(again[0]).toEqual({ status: 'fulfilled', value: [] });
    expect(await queue.remove(sql, 'ep_gone', ids)).toBe(0);
    expect(await queue.nextDue(['ep_a', 'ep_gone'])).toBeInstanceOf(Map);
    await sql.begin((tx) => queue.requeue(tx, [{ endpointId: 'ep_gone', jobId: ids[0]!, startAfter: new Date() }]));
  });

  it('drops a queue while a publish into it is still open, without a deadlock', async () => {
    await sql.begin((tx) => queue.createEndpointQueue(tx, 'ep_busy'));
    let commit!: () => void;
    const committed = new Promise<void>((resolve) => (commit = resolve));
    // A publish: writes a job for the endpoint, its foreign-key check deferred to commit.
    const publish = sql.begin(async (tx) => {
      await queue.enqueue(tx, [job('ep_busy', 70)]);
      await committed;
    });
    await new Promise((r) => setTimeout(r, 100));
    const drop = queue.dropEndpointQueue('ep_busy');
    await new Promise((r) => setTimeout(r, 300));
    commit();
    await expect(publish).resolves.toBeUndefined();
    await expect(drop).resolves.toBeUndefined();
    expect(await sql`SELECT 1 FROM pgboss.queue WHERE name = 'deliver_ep_busy'`).toHaveLength(0);
  });
});
