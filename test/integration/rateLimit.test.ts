import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startReceiver, type Receiver } from '../helpers/receiver.js';
import { startTestService, type TestService } from '../helpers/service.js';
import { createEndpoint, waitUntil } from '../helpers/flows.js';
import { slotOf } from '../../server/domain/endpointSlots.js';
import { startServiceOn } from '../faults/support.js';

let service: TestService;
let receiver: Receiver;

beforeAll(async () => {
  service = await startTestService();
  receiver = await startReceiver({ respond: () => ({ status: 200, delayMs: 20 }) });
});
afterAll(async () => {
  await receiver?.close();
  await service?.close();
});

/** The most requests the receiver saw in any one-second window (sliding, [t, t + 1000)). */
function busiestSecond(timesMs: number[]): number {
  const t = [...timesMs].sort((a, b) => a - b);
  let most = 0;
  let start = 0;
  for (let end = 0; end < t.length; end++) {
    while (t[end]! - t[start]! >= 1000) start++;
    most = Math.max(most, end - start + 1);
  }
  return most;
}

async function publishMany(type: string, count: number): Promise<void> {
  await service.client().data(`mutation($inputs: [PublishEventInput!]!) { publishEvents(inputs: $inputs) { deliveryCount } }`, {
    inputs: Array.from({ length: count }, (_, i) => ({ type, data: { i } })),
  });
}

async function succeeded(endpointId: string): Promise<number> {
  const [row] = await service.database.sql<{ n: number }[]>`
    SELECT count(*)::int AS n FROM deliveries WHERE endpoint_id = ${endpointId} AND status = 'SUCCEEDED'`;
  return row!.n;
}

const arrivals = (path: string) => receiver.requests.filter((r) => r.path === path).map((r) => r.receivedAtMs);

describe('rateLimitPerSecond as receivers count it', () => {
  it('never lets more than N requests arrive within any one second (30 queued at 5/s)', async () => {
    // The first version's token bucket started full and refilled meanwhile: 11 requests arrived
    // within one second with a limit of 5.
    const { id } = await createEndpoint(service.client(), { url: `${receiver.url}/five`, patterns: ['pipeline.run.started'], rateLimitPerSecond: 5 });
    await publishMany('pipeline.run.started', 30);
    await waitUntil('30 deliveries', async () => (await succeeded(id)) === 30, 20_000);
    const times = arrivals('/five');
    expect(times).toHaveLength(30);
    expect(busiestSecond(times)).toBeLessThanOrEqual(5);
    // And the limit is used, not merely respected: 30 at 5/s take about 5 s, not much more.
    const span = Math.max(...times) - Math.min(...times);
    expect(span).toBeGreaterThanOrEqual(5000);
    expect(span).toBeLessThan(9000);
  });

  it('holds across worker processes while the endpoint moves to another worker', async () => {
    // An endpoint in a slot the first worker hands over when a second one arrives (the first
    // half of the slots it took).
    let endpointId = '';
    for (let i = 0; i < 20 && !endpointId; i++) {
      const { id } = await createEndpoint(service.client(), { url: `${receiver.url}/moving`, patterns: ['pipeline.run.failed'], rateLimitPerSecond: 4 });
      if (slotOf(id) < 128) endpointId = id;
      else await service.client().data(`mutation($id: ID!) { deleteEndpoint(id: $id) { deletedEndpointId } }`, { id });
    }
    expect(endpointId).not.toBe('');
    await publishMany('pipeline.run.failed', 40);
    await waitUntil('first deliveries', async () => (await succeeded(endpointId)) >= 6, 10_000);
    // A second worker process: the first hands it half of the slots, this endpoint's among them.
    const second = await startServiceOn(service.testDatabase.url, { WEBHOOKS_ROLES: 'worker', WEBHOOKS_MASTER_KEY: service.masterKey });
    try {
      await waitUntil('the endpoint to move', async () => second.engine.worker()!.ownership.ownsEndpoint(endpointId), 10_000);
      await waitUntil('all 40 delivered', async () => (await succeeded(endpointId)) === 40, 30_000);
    } finally {
      await second.stop();
    }
    expect(busiestSecond(arrivals('/moving'))).toBeLessThanOrEqual(4);
  });
});
