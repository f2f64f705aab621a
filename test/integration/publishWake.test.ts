/**
 * How publishing wakes the workers, against real Postgres: outside a caller's transaction the
 * wake-up is a statement of its own after the publish has committed (a durable commit that
 * NOTIFYs holds Postgres's cluster-wide notify lock through its fsync, see createWakeSender),
 * coalesced while one is in flight; inside a caller's transaction it is part of that
 * transaction, so it goes out at its commit and never for a rollback.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import postgres, { type Sql, type TransactionSql } from 'postgres';
import { startTestService, type TestService } from '../helpers/service.js';
import { startReceiver, type Receiver } from '../helpers/receiver.js';
import { createEndpoint, waitUntil } from '../helpers/flows.js';
import { createWakeSender, parseWakePayload } from '../../server/db/notifications.js';
import { createPublisher } from '../../server/engine/publish.js';
import { LONGEST_PAUSE_MS } from '../../server/engine/worker/discovery.js';

let api: TestService;
let receiver: Receiver;
let listener: Sql;
/** Every payload received on webhooks_wake, as lists of endpoint ids, and the due time each announced. */
const wakes: string[][] = [];
const wakeDues: (number | null)[] = [];
const wakesOf = (endpointId: string) => wakes.filter((ids) => ids.includes(endpointId)).length;

beforeAll(async () => {
  api = await startTestService();
  receiver = await startReceiver();
  listener = postgres(api.testDatabase.url, { max: 1, onnotice: () => {} });
  await listener.listen('webhooks_wake', (payload) => {
    const { ids, dueMs } = parseWakePayload(payload);
    wakes.push(ids);
    wakeDues.push(dueMs);
  });
}, 60_000);

afterAll(async () => {
  await listener?.end({ timeout: 1 });
  await receiver?.close();
  await api?.close();
});

async function endpointFor(type: string): Promise<string> {
  return (await createEndpoint(api.client(), { url: `${receiver.url}/${type}`, patterns: [type] })).id;
}

describe('the wake sender', () => {
  it('sends the ids given while a statement is in flight together in the next one', async () => {
    const sender = createWakeSender(api.engine.database.sql, (err) => {
      throw err;
    });
    const before = wakes.length;
    const ids = Array.from({ length: 100 }, (_, i) => `ep_coalesce_${i}`);
    ids.forEach((id, i) => sender.send([id, id], 5_000 - i));
    await sender.settled();
    await waitUntil('both notifications', async () => wakes.length - before === 2);
    // The first id went at once; the 99 given while it was in flight, once each, in one more,
    // which announces the earliest due time among them.
    expect(wakes.slice(before)).toEqual([[ids[0]], ids.slice(1)]);
    expect(wakeDues.slice(before)).toEqual([5_000, 5_000 - 99]);
  });

  it('reports a failed wake-up instead of throwing, and is ready for the next one', async () => {
    const broken = postgres(api.testDatabase.url, { max: 1, onnotice: () => {} });
    await broken.end();
    const errors: Error[] = [];
    const sender = createWakeSender(broken, (err) => errors.push(err));
    expect(() => sender.send(['ep_unreachable'], 0)).not.toThrow();
    await sender.settled();
    expect(errors).toHaveLength(1);
    sender.send(['ep_unreachable_again'], 0);
    await sender.settled();
    expect(errors).toHaveLength(2);
  });
});

describe('publishing', () => {
  it('wakes the endpoint\'s worker after the publish has committed, announcing its jobs\' due time', async () => {
    const endpointId = await endpointFor('pipeline.run.started');
    const calledAtMs = Date.now();
    const [outcome] = await api.engine.publisher.publish(api.orgId, [{ type: 'pipeline.run.started', data: { n: 1 } }]);
    const answeredAtMs = Date.now();
    expect(outcome!.deliveryCount).toBe(1);
    await waitUntil('the wake-up', async () => wakesOf(endpointId) === 1);
    // The publish transaction's start (its jobs' start_after), by the database's clock: this host's.
    const dueMs = wakeDues[wakes.findIndex((ids) => ids.includes(endpointId))]!;
    expect(dueMs).toBeGreaterThanOrEqual(calledAtMs - 50);
    expect(dueMs).toBeLessThanOrEqual(answeredAtMs);
    await waitUntil('the delivery', async () => receiver.requests.some((r) => r.path === '/pipeline.run.started'));
  });

  it('does not NOTIFY in the publish statement: with the wake-up failing, the publish still lands and discovery delivers it', async () => {
    const endpointId = await endpointFor('pipeline.run.succeeded');
    const broken = postgres(api.testDatabase.url, { max: 1, onnotice: () => {} });
    await broken.end();
    const errors: Error[] = [];
    const publisher = createPublisher({
      database: api.engine.database,
      jobs: api.engine.jobs,
      wake: createWakeSender(broken, (err) => errors.push(err)),
    });
    const [outcome] = await publisher.publish(api.orgId, [{ type: 'pipeline.run.succeeded', data: { n: 2 } }]);
    expect(outcome!.deliveryCount).toBe(1);
    await waitUntil('the wake-up to fail', async () => errors.length === 1);
    // Delivered by the worker's discovery, never woken for it. Each shard is searched every 5 s
    // here, but a slow pass (a loaded machine) stretches the pause up to LONGEST_PAUSE_MS: the
    // bound that holds on any machine (10 s failed once in a full suite on a slow one).
    await waitUntil('the delivery', async () => receiver.requests.some((r) => r.path === '/pipeline.run.succeeded'), LONGEST_PAUSE_MS + 10_000);
    expect(wakesOf(endpointId)).toBe(0);
  }, LONGEST_PAUSE_MS + 30_000);

  it('inside a caller\'s transaction wakes at its commit, and not at all when it rolls back', async () => {
    const endpointId = await endpointFor('pipeline.run.failed');
    const publishIn = (tx: TransactionSql) => api.engine.publisher.publish(api.orgId, [{ type: 'pipeline.run.failed', data: {} }], () => '', tx);

    await api.engine.database.sql
      .begin(async (tx) => {
        await publishIn(tx);
        throw new Error('roll back');
      })
      .catch((e: Error) => expect(e.message).toBe('roll back'));
    let txStartMs = 0;
    await api.engine.database.sql.begin(async (tx) => {
      const [started] = await tx<{ ms: string }[]>`SELECT floor(extract(epoch FROM now()) * 1000)::bigint::text AS ms`;
      txStartMs = Number(started!.ms);
      await publishIn(tx);
      // Nothing is sent before the transaction commits.
      await new Promise((r) => setTimeout(r, 200));
      expect(wakesOf(endpointId)).toBe(0);
    });
    await waitUntil('the wake-up at commit', async () => wakesOf(endpointId) === 1);
    // It announces the transaction's start: its job is due from then, however late it commits.
    expect(wakeDues[wakes.findIndex((ids) => ids.includes(endpointId))]).toBe(txStartMs);
    await new Promise((r) => setTimeout(r, 300));
    expect(wakesOf(endpointId)).toBe(1);
    const [row] = await api.engine.database.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM deliveries WHERE endpoint_id = ${endpointId}`;
    expect(row!.n).toBe(1);
  });
});
