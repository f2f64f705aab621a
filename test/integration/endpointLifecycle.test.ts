import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestService, type TestService } from '../helpers/service.js';
import { startReceiver, type Receiver } from '../helpers/receiver.js';
import { createEndpoint, waitUntil } from '../helpers/flows.js';

let service: TestService;
let receiver: Receiver;

beforeAll(async () => {
  service = await startTestService();
  receiver = await startReceiver({ respond: () => ({ status: 200, delayMs: 30 }) });
});
afterAll(async () => {
  await receiver?.close();
  await service?.close();
});

describe('endpoint lifecycle under concurrency', () => {
  it('creates many endpoints at once, without a queue (or a partition) each', async () => {
    const admin = service.client();
    const created = await Promise.all(
      Array.from({ length: 12 }, (_, i) => createEndpoint(admin, { url: `${receiver.url}/c${i}`, patterns: ['pipeline.run.failed'] })),
    );
    expect(new Set(created.map((c) => c.id)).size).toBe(12);
    const [row] = await service.database.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM pg_inherits WHERE inhparent = 'pgboss.job'::regclass`;
    const [queues] = await service.database.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM pgboss.queue`;
    expect(row!.n).toBe(queues!.n);
    expect(await service.database.sql`SELECT 1 FROM pgboss.queue WHERE name LIKE 'deliver\\_ep%'`).toHaveLength(0);
  });

  it('deletes an endpoint while it is delivering: pending deliveries cancelled and never revived, jobs removed', async () => {
    const admin = service.client();
    const endpoint = await createEndpoint(admin, { url: `${receiver.url}/busy`, patterns: ['orchestration.job.queued'], maxInFlight: 4 });
    const inputs = Array.from({ length: 300 }, (_, i) => ({ type: 'orchestration.job.queued', data: { i } }));
    await admin.data(`mutation($inputs: [PublishEventInput!]!) { publishEvents(inputs: $inputs) { event { id } } }`, { inputs });
    await waitUntil('deliveries under way', async () => receiver.requests.filter((r) => r.path === '/busy').length >= 10);
    const deleted = await admin.data(`mutation($id: ID!) { deleteEndpoint(id: $id) { deletedEndpointId } }`, { id: endpoint.id });
    expect(deleted.deleteEndpoint.deletedEndpointId).toBe(endpoint.id);

    // Attempts in flight at the moment of the delete are still recorded, but their deliveries
    // stay CANCELLED: nothing is PENDING again once the worker has let go.
    await new Promise((r) => setTimeout(r, 500));
    const statuses = await service.database.sql<{ status: string; n: number }[]>`
      SELECT status, count(*)::int AS n FROM deliveries WHERE endpoint_id = ${endpoint.id} GROUP BY status`;
    const byStatus = Object.fromEntries(statuses.map((s) => [s.status, s.n]));
    expect(byStatus.PENDING ?? 0).toBe(0);
    expect(byStatus.CANCELLED).toBeGreaterThan(0);
    expect((byStatus.SUCCEEDED ?? 0) + (byStatus.CANCELLED ?? 0)).toBe(300);
    await waitUntil('no job of the deleted endpoint', async () =>
      (await service.database.sql`SELECT 1 FROM pgboss.job WHERE data->>'p' = ${endpoint.id}`).length === 0,
    );
    const sent = receiver.requests.filter((r) => r.path === '/busy').length;
    await new Promise((r) => setTimeout(r, 300));
    expect(receiver.requests.filter((r) => r.path === '/busy').length).toBe(sent);
    const gone = await admin.error(`query($id: ID!) { endpoint(id: $id) { id } }`, { id: endpoint.id });
    expect(gone.code).toBe('NOT_FOUND');
  });
});
