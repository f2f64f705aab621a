import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import postgres, { type Sql } from 'postgres';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { createJobQueue, timeOrderedUuid, type JobQueue } from '../../server/engine/jobQueue.js';
import { DELIVERY_QUEUE_OPTIONS } from '../../server/engine/jobs.js';

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
    await sql.begin((tx) => queue.removeMany(tx, [...first, ...rest].map((j) => ({ endpointId: 'ep_a', jobId: j.id }))));
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
