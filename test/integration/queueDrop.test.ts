/**
 * Dropping a deleted endpoint's queue while another organization publishes: the drop needs the
 * job and queue tables exclusively, and used to deadlock with publishes, which Postgres then
 * cancelled (another tenant's publishEvent answered INTERNAL_SERVER_ERROR). applyConfiguration
 * with prune deletes many endpoints at once, so this matters more than it did for one delete.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestService, type TestService } from '../helpers/service.js';
import { waitUntil } from '../helpers/flows.js';

let service: TestService;

beforeAll(async () => {
  service = await startTestService();
});

afterAll(async () => {
  await service?.close();
});

it('deleting endpoints (one by one, and pruned in one apply) fails none of another organization\'s publishes', async () => {
  const admin = service.client();
  const other = service.client((await service.services.organizations.createOrganization({ name: 'publisher-org', plan: 'enterprise' })).apiKey);
  for (let i = 0; i < 5; i++) await other.data(`mutation { createEndpoint(input: { url: "http://127.0.0.1:9/b${i}", patterns: ["pipeline.*"] }) { endpoint { id } } }`);
  const ids: string[] = [];
  for (let i = 0; i < 10; i++) ids.push((await admin.data(`mutation { createEndpoint(input: { url: "http://127.0.0.1:9/a${i}" }) { endpoint { id } } }`)).createEndpoint.endpoint.id);
  await admin.data(`mutation($d: JSON!) { applyConfiguration(document: $d) { applied } }`, {
    d: { endpoints: Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`pruned-${i}`, { url: `http://127.0.0.1:9/p${i}` }])) },
  });

  let running = true;
  const failures: string[] = [];
  let published = 0;
  const publishers = Promise.all(
    [0, 1, 2].map(async () => {
      while (running) {
        const result = await other.request(`mutation { publishEvent(input: { type: "pipeline.run.failed", data: {} }) { deliveryCount } }`);
        if (result.errors) failures.push(JSON.stringify(result.errors));
        else published++;
      }
    }),
  );
  try {
    for (const id of ids) await admin.data(`mutation { deleteEndpoint(id: "${id}") { deletedEndpointId } }`);
    await admin.data(`mutation($d: JSON!) { applyConfiguration(document: $d, prune: true) { applied } }`, { d: {} });
    // The pruned endpoints' queues are dropped after the answer: publishing goes on meanwhile.
    await waitUntil('the pruned queues to be dropped', async () => {
      const queues = await service.database.sql`SELECT count(*)::int AS n FROM pgboss.queue WHERE name LIKE 'deliver_%'`;
      return queues[0]!.n === 5;
    }, 60_000);
  } finally {
    running = false;
    await publishers;
  }
  expect(failures).toEqual([]);
  expect(published).toBeGreaterThan(0);
}, 120_000);
