import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startReceiver, type Receiver } from '../helpers/receiver.js';
import { startTestService, type TestService } from '../helpers/service.js';
import { createEndpoint, waitUntil } from '../helpers/flows.js';
import { shardOf } from '../../server/db/queues.js';

let service: TestService;
let receiver: Receiver;

beforeAll(async () => {
  service = await startTestService();
  receiver = await startReceiver({ respond: (req) => (req.path === '/busy' ? { status: 200, delayMs: 50 } : { status: 200 }) });
});
afterAll(async () => {
  await receiver?.close();
  await service?.close();
});

const PUBLISH = `mutation($inputs: [PublishEventInput!]!) { publishEvents(inputs: $inputs) { deliveryCount } }`;

async function pending(endpointId: string): Promise<number> {
  const [row] = await service.database.sql<{ n: number }[]>`
    SELECT count(*)::int AS n FROM deliveries WHERE endpoint_id = ${endpointId} AND status = 'PENDING'`;
  return row!.n;
}

describe('endpoints sharing a shard queue', () => {
  it('a deep backlog on one endpoint never holds up another endpoint of the same shard', async () => {
    const admin = service.client();
    const busy = await createEndpoint(admin, { url: `${receiver.url}/busy`, patterns: ['orchestration.job.queued'], maxInFlight: 4 });
    // Another endpoint whose jobs land in the same partition (ids are random: 1 in 16 fits, so
    // 40 tries missed 7.6% of the time; 200 miss once in 400,000 runs).
    let quietId = '';
    for (let i = 0; i < 200 && !quietId; i++) {
      const candidate = await createEndpoint(admin, { url: `${receiver.url}/quiet`, patterns: ['pipeline.run.failed'] });
      if (shardOf(candidate.id) === shardOf(busy.id)) quietId = candidate.id;
      else await admin.data(`mutation($id: ID!) { deleteEndpoint(id: $id) { deletedEndpointId } }`, { id: candidate.id });
    }
    expect(quietId).not.toBe('');
    // 3,000 deliveries queued for the busy endpoint, which takes 4 at a time, 50 ms each.
    for (let i = 0; i < 3; i++) {
      await admin.data(PUBLISH, { inputs: Array.from({ length: 1000 }, (_, n) => ({ type: 'orchestration.job.queued', data: { n } })) });
    }
    await waitUntil('the backlog under way', async () => receiver.requests.filter((r) => r.path === '/busy').length >= 20);
    await admin.data(PUBLISH, { inputs: [{ type: 'pipeline.run.failed', data: { quiet: true } }] });
    await waitUntil('the quiet endpoint served', async () => receiver.requests.some((r) => r.path === '/quiet'), 5_000);
    // Served while nearly all of the backlog still waits: never behind it.
    expect(await pending(busy.id)).toBeGreaterThan(2500);
  });
});
