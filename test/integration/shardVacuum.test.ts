import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import postgres, { type Sql } from 'postgres';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { startReceiver, type Receiver } from '../helpers/receiver.js';
import { startTestService, type TestService } from '../helpers/service.js';
import { createEndpoint, waitUntil } from '../helpers/flows.js';
import { createDeliveryJobs, type DeliveryJobs, type FinishedJob } from '../../server/db/repos/deliveryJobs.js';
import { shardOf } from '../../server/db/queues.js';
import { WORKER_SESSION } from '../../server/db/client.js';
import { createShardVacuum, JOBS_PER_VACUUM } from '../../server/engine/worker/shardVacuum.js';
import { createLogger } from '../../server/logger.js';

/**
 * Buffers one lease's pick reads for `endpointId`: the walk of the endpoint due index from the
 * front of the endpoint's range to its first waiting jobs (the worker's own session settings).
 */
async function pickBuffers(sql: Sql, table: string, queue: string, endpointId: string): Promise<number> {
  return sql.begin(async (tx) => {
    for (const [name, value] of Object.entries(WORKER_SESSION)) await tx.unsafe(`SET LOCAL ${name} = '${value}'`);
    const [row] = await tx.unsafe(
      `EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON)
       SELECT ctid FROM ${table} WHERE name = $1 AND (data->>'p') = $2 AND state < 'active' AND start_after <= now()
       ORDER BY start_after, id LIMIT 10`,
      [queue, endpointId],
    );
    const plan = (row!['QUERY PLAN'] as { Plan: { 'Shared Hit Blocks': number; 'Shared Read Blocks': number } }[])[0]!.Plan;
    return plan['Shared Hit Blocks'] + plan['Shared Read Blocks'];
  });
}

describe('vacuum of the job partitions (module)', () => {
  let database: TestDatabase;
  let sql: Sql;
  let maintenance: Sql;
  let jobs: DeliveryJobs;

  beforeAll(async () => {
    database = await createTestDatabase();
    sql = postgres(database.url, { max: 2, onnotice: () => {} });
    maintenance = postgres(database.url, { max: 1, onnotice: () => {} });
    jobs = createDeliveryJobs(sql);
    await jobs.ensureLayout();
  });
  afterAll(async () => {
    await sql?.end();
    await maintenance?.end();
    await database?.drop();
  });

  /** Enqueues `count` jobs for the endpoint and works them off as the worker does: lease, then delete with the next lease. */
  async function churn(endpointId: string, count: number): Promise<void> {
    const shard = shardOf(endpointId);
    for (let i = 0; i < count; i += 500) {
      await jobs.enqueue(sql, Array.from({ length: 500 }, (_, k) => ({ endpointId, deliveryId: `dlv_${i + k}`, eventId: `evt_${i + k}` })));
    }
    let done: FinishedJob[] = [];
    for (;;) {
      const { jobs: leased } = await jobs.lease(sql, shard, [{ endpointId, limit: 100 }], done);
      if (leased.length === 0) break;
      done = leased;
    }
    // Work still waiting behind the finished jobs, as in a steady flow.
    await jobs.enqueue(sql, Array.from({ length: 20 }, (_, k) => ({ endpointId, deliveryId: `dlv_w${k}`, eventId: `evt_w${k}` })));
  }

  it('clears the dead entries a lease walks over, once enough jobs of the shard finished', async () => {
    const endpointId = 'ep_vacuum_module';
    const shard = shardOf(endpointId);
    const table = jobs.partitionOf(shard);
    await churn(endpointId, 3_000);
    // Twice: the first walk visits the heap for each dead entry and marks it; the second skips
    // them but still reads every index page they fill.
    await pickBuffers(sql, table, `deliveries_s${String(shard).padStart(2, '0')}`, endpointId);
    const before = await pickBuffers(sql, table, `deliveries_s${String(shard).padStart(2, '0')}`, endpointId);
    expect(before).toBeGreaterThan(25);

    const vacuum = createShardVacuum({ sql: maintenance, tableOf: (s) => jobs.partitionOf(s), log: createLogger('silent'), jobsPerVacuum: 1_000, minIntervalMs: 0 });
    vacuum.finished(shard, endpointId, 999);
    vacuum.finished(shard, 'ep_other', 999); // the count is per endpoint: the walk is per endpoint range
    expect(vacuum.vacuums()).toBe(0);
    vacuum.finished(shard, endpointId, 2_001);
    await waitUntil('the vacuum', async () => vacuum.vacuums() === 1);
    await vacuum.stop();
    const after = await pickBuffers(sql, table, `deliveries_s${String(shard).padStart(2, '0')}`, endpointId);
    expect(after).toBeLessThan(8);
    // The waiting jobs are still there to lease.
    const { jobs: leased } = await jobs.lease(sql, shard, [{ endpointId, limit: 100 }], []);
    expect(leased).toHaveLength(20);
  });

  it('vacuums a partition at most once per interval, each shard on the count of its busiest endpoint', async () => {
    const log = createLogger('silent');
    const vacuum = createShardVacuum({ sql: maintenance, tableOf: (s) => jobs.partitionOf(s), log, jobsPerVacuum: 10, minIntervalMs: 400 });
    vacuum.finished(1, 'ep_a', 10);
    await waitUntil('first vacuum', async () => vacuum.vacuums() === 1);
    vacuum.finished(1, 'ep_a', 10);
    vacuum.finished(2, 'ep_b', 9);
    vacuum.finished(2, 'ep_c', 9);
    await new Promise((r) => setTimeout(r, 150));
    expect(vacuum.vacuums()).toBe(1); // shard 1 waits for its interval; no endpoint of shard 2 reached the count
    await waitUntil('second vacuum of shard 1', async () => vacuum.vacuums() === 2, 3_000);
    await vacuum.stop();
    vacuum.finished(2, 'ep_b', 100);
    await new Promise((r) => setTimeout(r, 100));
    expect(vacuum.vacuums()).toBe(2); // none after stop
  });

  it('keeps its counts bounded when jobs spread over very many endpoints, and still vacuums for a busy one among them', async () => {
    const vacuum = createShardVacuum({ sql: maintenance, tableOf: (s) => jobs.partitionOf(s), log: createLogger('silent'), jobsPerVacuum: 4_000, minIntervalMs: 0 });
    for (let i = 0; i < 19_990; i++) {
      vacuum.finished(3, `ep_thin_${i}`, 1);
      if (i % 5 === 0) vacuum.finished(3, 'ep_busy', 1);
    }
    expect(vacuum.countedEndpoints()).toBeLessThanOrEqual(1_001);
    await new Promise((r) => setTimeout(r, 100));
    expect(vacuum.vacuums()).toBe(0); // 3,998 jobs of the busy endpoint: under the count
    vacuum.finished(3, 'ep_busy', 2);
    await waitUntil('the busy endpoint\'s vacuum', async () => vacuum.vacuums() === 1);
    await vacuum.stop();
  });
});

describe('vacuum of the job partitions (worker)', () => {
  let service: TestService;
  let receiver: Receiver;

  beforeAll(async () => {
    service = await startTestService();
    receiver = await startReceiver({ respond: () => ({ status: 200 }) });
  });
  afterAll(async () => {
    await receiver?.close();
    await service?.close();
  });

  it('vacuums the shard of an endpoint it delivered more than JOBS_PER_VACUUM jobs to', async () => {
    // Autovacuum reaches a database at most once a minute: a vacuum within this test is the worker's.
    const { id } = await createEndpoint(service.client(), { url: `${receiver.url}/busy`, patterns: ['pipeline.run.started'] });
    const total = JOBS_PER_VACUUM + 1_000;
    for (let i = 0; i < total; i += 1_000) {
      await service.client().data(`mutation($inputs: [PublishEventInput!]!) { publishEvents(inputs: $inputs) { deliveryCount } }`, {
        inputs: Array.from({ length: 1_000 }, (_, k) => ({ type: 'pipeline.run.started', data: { i: i + k } })),
      });
    }
    await waitUntil(
      `${total} deliveries`,
      async () => {
        const [row] = await service.database.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM deliveries WHERE endpoint_id = ${id} AND status = 'SUCCEEDED'`;
        return row!.n === total;
      },
      60_000,
    );
    const jobs = createDeliveryJobs(service.database.sql);
    await jobs.ensureLayout();
    const table = jobs.partitionOf(shardOf(id));
    await waitUntil('a vacuum of the partition', async () => {
      const [row] = await service.database.sql<{ n: number }[]>`
        SELECT vacuum_count::int AS n FROM pg_stat_user_tables WHERE relid = ${table}::regclass`;
      return row!.n >= 1;
    });
  }, 90_000);
});
