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
import { createWakeSender } from '../../server/db/notifications.js';
import { createPublisher } from '../../server/engine/publish.js';
import { LONGEST_PAUSE_MS } from '../../server/engine/worker/discovery.js';

let api: TestService;
let receiver: Receiver;
let listener: Sql;
/** Every payload received on webhooks_wake, as lists of endpoint ids. */
const wakes: string[][] = [];
const wakesOf = (endpointId: string) => wakes.filter((ids) => ids.includes(endpointId)).length;

beforeAll(async () => {
  api = await startTestService();
  receiver = await startReceiver();
  listener = postgres(api.testDatabase.url, { max: 1, onnotice: () => {} });
  await listener.listen('webhooks_wake', (payload) => wakes.push(payload.split(',')));
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
    for (const id of ids) sender.send([id, id]);
    await sender.settled();
    await waitUntil('both notifications', async () => wakes.length - before === 2);
    // The first id went at once; the 99 given while it was in flight, once each, in one more.
    expect(wakes.slice(before)).toEqual([[ids[0]], ids.slice(1)]);
  });

  it('reports a failed wake-up instead of throwing, and is ready for the next one', async () => {
    const broken = postgres(api.testDatabase.url, { max: 1, onnotice: () => {} });
    await broken.end();
    const errors: Error[] = [];
    const sender = createWakeSender(broken, (err) => errors.push(err));
    expect(() => sender.send(['ep_unreachable'])).not.toThrow();
    await sender.settled();
    expect(errors).toHaveLength(1);
    sender.send(['ep_unreachable_again']);
    await sender.settled();
    expect(errors).toHaveLength(2);
  });
});

describe('publishing', () => {
  it('wakes the endpoint\'s worker after the publish has committed', async () => {
    const endpointId = await endpointFor('pipeline.run.started');
    const [outcome] = await api.engine.publisher.publish(api.orgId, [{ type: 'pipeline.run.started', data: { n: 1 } }]);
    expect(outcome!.deliveryCount).toBe(1);
    await waitUntil('the wake-up', async () => wakesOf(endpointId) === 1);
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
    await api.engine.database.sql.begin(async (tx) => {
      await publishIn(tx);
      // Nothing is sent before the transaction commits.
      await new Promise((r) => setTimeout(r, 200));
      expect(wakesOf(endpointId)).toBe(0);
    });
    await waitUntil('the wake-up at commit', async () => wakesOf(endpointId) === 1);
    await new Promise((r) => setTimeout(r, 300));
    expect(wakesOf(endpointId)).toBe(1);
    const [row] = await api.engine.database.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM deliveries WHERE endpoint_id = ${endpointId}`;
    expect(row!.n).toBe(1);
  });
});
