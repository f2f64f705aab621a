/**
 * deliveries_org_status_idx holds the deliveries a status list needs it for (pending, dead,
 * cancelled) and none that succeeded: a successful outcome update (not HOT, `status` is indexed)
 * adds no entry to it, and lists by any status still answer right.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestService, type TestService } from '../helpers/service.js';
import { createDeliveriesRepo } from '../../server/db/repos/deliveries.js';

let service: TestService;
let endpointId: string;
const now = Date.now();

beforeAll(async () => {
  service = await startTestService({ WEBHOOKS_ROLES: 'api' });
  await service.engine.history.ensurePartitions(now);
  const sql = service.database.sql;
  endpointId = (await sql`INSERT INTO endpoints (id, org_id, url) VALUES (${'ep_01JZZZZZZZZZZZZZZZZZZZZZZZ'}, ${service.orgId}, 'https://example.test/') RETURNING id`)[0]!.id;
});
afterAll(async () => {
  await service?.close();
});

/** Bytes of the index over every partition (its pages only grow: entries added show as pages). */
async function statusIndexBytes(): Promise<number> {
  const [row] = await service.database.sql<{ bytes: string }[]>`
    SELECT coalesce(sum(pg_relation_size(inhrelid)), 0)::text AS bytes FROM pg_inherits WHERE inhparent = 'deliveries_org_status_idx'::regclass`;
  return Number(row!.bytes);
}

/** `n` deliveries of one batch (ids in this millisecond's range), all with `status`. */
async function insertDeliveries(batch: string, n: number, status: string): Promise<void> {
  await service.database.sql`
    INSERT INTO deliveries (id, org_id, event_id, endpoint_id, event_type, status, created_at)
    SELECT left(webhooks_id_bound('dlv', ${now}::bigint), 14) || ${batch} || lpad(g::text, 15, '0'), ${service.orgId},
           left(webhooks_id_bound('evt', ${now}::bigint), 14) || ${batch} || lpad(g::text, 15, '0'), ${endpointId},
           'pipeline.run.succeeded', ${status}::delivery_status, now()
    FROM generate_series(1, ${n}) g`;
}

describe('deliveries_org_status_idx', () => {
  it('gains no entry when deliveries succeed, and lists by status still find every delivery', async () => {
    const sql = service.database.sql;
    const empty = await statusIndexBytes();
    // 3,000 pending deliveries: about fifteen leaf pages of entries.
    await insertDeliveries('a', 3_000, 'PENDING');
    const pending = await statusIndexBytes();
    expect(pending).toBeGreaterThan(empty + 8 * 8192);
    // Every one succeeds, as the recorder's outcome update does it (a new row version each).
    await sql`UPDATE deliveries SET status = 'SUCCEEDED', attempt_count = 1, completed_at = now() WHERE org_id = ${service.orgId} AND status = 'PENDING'`;
    // With SUCCEEDED in the index, 3,000 new entries would have grown it by as much again.
    expect(await statusIndexBytes()).toBeLessThan(pending + 2 * 8192);
    // Born succeeded (an idempotent repeat, a test): no entries either.
    await insertDeliveries('b', 3_000, 'SUCCEEDED');
    expect(await statusIndexBytes()).toBeLessThan(pending + 2 * 8192);

    await insertDeliveries('c', 7, 'DEAD');
    await insertDeliveries('d', 5, 'CANCELLED');
    await insertDeliveries('e', 4, 'PENDING');
    const repo = createDeliveriesRepo(service.database.db);
    const count = async (statuses: ('PENDING' | 'SUCCEEDED' | 'DEAD' | 'CANCELLED')[]) => {
      let n = 0;
      for (let after: string | null = null; ; ) {
        const page = await repo.list(service.orgId, { statuses }, { first: 500, after });
        expect(page.nodes.every((d) => statuses.includes(d.status))).toBe(true);
        n += page.nodes.length;
        if (!page.hasNextPage) return n;
        after = page.nodes.at(-1)!.id;
      }
    };
    expect(await count(['DEAD'])).toBe(7);
    expect(await count(['CANCELLED'])).toBe(5);
    expect(await count(['PENDING'])).toBe(4);
    expect(await count(['DEAD', 'PENDING'])).toBe(11);
    expect(await count(['SUCCEEDED'])).toBe(6_000);
    expect(await count(['SUCCEEDED', 'DEAD'])).toBe(6_007);
  });

  it('a first page of any status reads a few pages, not the organization\'s deliveries', async () => {
    const sql = service.database.sql;
    await sql`ANALYZE deliveries`;
    // The list's shape (deliveries repo): newest first, a page of 20.
    const buffers = async (statuses: string[]) => {
      const [row] = await sql.unsafe(
        `EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) SELECT * FROM deliveries WHERE org_id = $1 AND status = ANY($2::delivery_status[]) ORDER BY id DESC LIMIT 21`,
        [service.orgId, statuses] as never[],
      );
      const plan = (row!['QUERY PLAN'] as { Plan: { 'Shared Hit Blocks': number; 'Shared Read Blocks': number } }[])[0]!.Plan;
      return plan['Shared Hit Blocks'] + plan['Shared Read Blocks'];
    };
    // 6,016 deliveries of the organization fill ~150 heap pages and ~30 pages of each index.
    for (const statuses of [['DEAD'], ['PENDING'], ['CANCELLED'], ['PENDING', 'CANCELLED'], ['SUCCEEDED'], ['SUCCEEDED', 'DEAD']]) {
      expect(await buffers(statuses), statuses.join()).toBeLessThan(40);
    }
  });
});
