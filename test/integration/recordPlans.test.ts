/**
 * The recorder's delivery update must stay linear in its batch whatever the statistics say. Its
 * first form joined the batch (jsonb_to_recordset) to the rows found by id; right after an ANALYZE
 * of a day of finished deliveries Postgres believed almost no row would pass the PENDING check
 * and joined with a nested loop: every row of the batch compared with every other (25 million id
 * comparisons, 2.65 s, for 5,066 deliveries in the bench's history scenario).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestService, type TestService } from '../helpers/service.js';
import { attemptsJson, deliveryUpdatesJson, insertAttemptsSql, sortedIds, updateDeliveriesSql, type DeliveryUpdate } from '../../server/db/repos/attempts.js';

let service: TestService;
// Enough finished rows that the pending ones are a small share (an index scan, as at size): with
// fewer, Postgres scanned the partition and hashed, and the old form's flaw did not show.
const FINISHED = 250_000;
const BATCH = 4_000;

beforeAll(async () => {
  service = await startTestService({ WEBHOOKS_ROLES: 'api' });
  const sql = service.database.sql;
  // Today's deliveries, in id order: most finished, the last BATCH pending.
  await sql`
    INSERT INTO deliveries (id, org_id, event_id, endpoint_id, event_type, status, attempt_count)
    SELECT left(webhooks_id_bound('dlv', ${Date.now()}::bigint - 60000 + n / 100), 14) || lpad(n::text, 16, '0'), ${service.orgId}, 'evt_x', 'ep_x', 'pipeline.run.failed',
           (CASE WHEN n > ${FINISHED} THEN 'PENDING' ELSE 'SUCCEEDED' END)::delivery_status, 0
    FROM generate_series(1, ${FINISHED + BATCH}) n`;
  await sql`VACUUM ANALYZE deliveries`;
});
afterAll(async () => {
  await service?.close();
});

interface PlanNode {
  'Node Type': string;
  'Actual Rows'?: number;
  'Actual Loops'?: number;
  'Rows Removed by Join Filter'?: number;
  Plans?: PlanNode[];
}
const nodes = (n: PlanNode): PlanNode[] => [n, ...(n.Plans ?? []).flatMap(nodes)];

describe('recording a batch of outcomes', () => {
  it('updates a large batch of pending deliveries by key, never comparing every row of the batch with every other', async () => {
    const sql = service.database.sql;
    const pending = await sql<{ id: string }[]>`SELECT id FROM deliveries WHERE status = 'PENDING' ORDER BY id`;
    expect(pending).toHaveLength(BATCH);
    const updates: DeliveryUpdate[] = pending.map((p, i) => ({
      id: p.id,
      status: i % 2 ? 'SUCCEEDED' : 'PENDING',
      attemptCount: 1,
      nextAttemptAt: i % 2 ? null : new Date(Date.now() + 60_000),
      lastAttemptAt: new Date(),
      lastAttemptId: `att_${i}`,
      completedAt: i % 2 ? new Date() : null,
    }));
    // As the recorder sends it (with attempts in the same statement), explained with its parameters.
    const statement = `WITH a AS (${insertAttemptsSql('$1')}) ${updateDeliveriesSql('$2', '$3')}`;
    const params = [attemptsJson([]), deliveryUpdatesJson(updates), sortedIds(updates)] as never[];
    const plan = await sql.begin(async (tx) => {
      const [row] = await tx.unsafe<{ 'QUERY PLAN': [{ Plan: PlanNode }] }[]>(`EXPLAIN (ANALYZE, FORMAT JSON) ${statement}`, params);
      throw Object.assign(new Error('rollback'), { plan: row!['QUERY PLAN'][0].Plan });
    }).catch((err: Error & { plan?: PlanNode }) => {
      if (!err.plan) throw err;
      return err.plan;
    });
    const all = nodes(plan);
    const compared = all.reduce((sum, n) => sum + (n['Rows Removed by Join Filter'] ?? 0), 0);
    expect(compared).toBe(0);
    // No node runs once per row of the batch over the rows found (a nested loop's inner side).
    expect(all.filter((n) => (n['Actual Loops'] ?? 1) > 1 && (n['Actual Rows'] ?? 0) > 1)).toEqual([]);

    // And it writes what each delivery's outcome says.
    await sql.unsafe(statement, params);
    const after = await sql<{ status: string; n: number; completed: number; lastIds: number }[]>`
      SELECT status::text, count(*)::int AS n, count(completed_at)::int AS completed, count(DISTINCT last_attempt_id)::int AS "lastIds"
      FROM deliveries WHERE id = ANY(${pending.map((p) => p.id)}) GROUP BY status ORDER BY status`;
    expect(after).toEqual([
      { status: 'PENDING', n: BATCH / 2, completed: 0, lastIds: BATCH / 2 },
      { status: 'SUCCEEDED', n: BATCH / 2, completed: BATCH / 2, lastIds: BATCH / 2 },
    ]);
  });

  it('leaves a delivery cancelled meanwhile as it is', async () => {
    const sql = service.database.sql;
    const [row] = await sql<{ id: string; attempt_count: number }[]>`
      UPDATE deliveries SET status = 'CANCELLED' WHERE id = (SELECT min(id) FROM deliveries WHERE status = 'PENDING') RETURNING id, attempt_count`;
    const update: DeliveryUpdate = { id: row!.id, status: 'SUCCEEDED', attemptCount: 3, nextAttemptAt: null, lastAttemptAt: new Date(), lastAttemptId: 'att_c', completedAt: new Date() };
    await sql.unsafe(updateDeliveriesSql('$1', '$2'), [deliveryUpdatesJson([update]), [update.id]] as never[]);
    const [after] = await sql<{ status: string; attempt_count: number }[]>`SELECT status::text, attempt_count FROM deliveries WHERE id = ${row!.id}`;
    expect(after).toEqual({ status: 'CANCELLED', attempt_count: row!.attempt_count });
  });
});
