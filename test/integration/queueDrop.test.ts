/**
 * Deleting endpoints while another organization publishes. With a queue per endpoint, the drop of
 * a deleted endpoint's queue needed the job and queue tables exclusively and deadlocked with
 * publishes, which Postgres then cancelled (another tenant's publishEvent answered
 * INTERNAL_SERVER_ERROR). Shard queues are never dropped: a deletion removes the endpoint's jobs
 * in its own transaction. applyConfiguration with prune deletes many endpoints at once, so this
 * matters more than it did for one delete.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestService, type TestService } from '../helpers/service.js';

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
  for (let i = 0; i < 10; i++) ids.push((await admin.data(`mutation { createEndpoint(input: { url: "http://127.0.0.1:9/a${i}", patterns: ["pipeline.*"] }) { endpoint { id } } }`)).createEndpoint.endpoint.id);
  await admin.data(`mutation($d: JSON!) { applyConfiguration(document: $d) { applied } }`, {
    d: { endpoints: Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`pruned-${i}`, { url: `http://127.0.0.1:9/p${i}`, patterns: ['pipeline.*'] }])) },
  });
  // Work waiting for every endpoint about to be deleted (port 9 refuses: it stays queued).
  for (let i = 0; i < 3; i++) await admin.data(`mutation { publishEvent(input: { type: "pipeline.run.failed", data: {} }) { deliveryCount } }`);
  const queued = await service.database.sql`SELECT count(DISTINCT data->>'p')::int AS n FROM pgboss.job WHERE data->>'p' IN (SELECT id FROM endpoints WHERE url LIKE '%/a_' OR url LIKE '%/p_')`;
  expect(queued[0]!.n).toBe(20);

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
    const pruned = (await service.database.sql<{ id: string }[]>`SELECT id FROM endpoints WHERE url LIKE '%/p_' AND deleted_at IS NULL`).map((r) => r.id);
    expect(pruned).toHaveLength(10);
    await admin.data(`mutation($d: JSON!) { applyConfiguration(document: $d, prune: true) { applied } }`, { d: {} });
    // Publishing went on meanwhile; the deleted endpoints keep no jobs and no queue of their own.
    const left = await service.database.sql`SELECT count(*)::int AS n FROM pgboss.job WHERE data->>'p' = ANY(${[...ids, ...pruned]}::text[])`;
    expect(left[0]!.n).toBe(0);
    const ownQueues = await service.database.sql`SELECT count(*)::int AS n FROM pgboss.queue WHERE name LIKE 'deliver\\_%'`;
    expect(ownQueues[0]!.n).toBe(0);
  } finally {
    running = false;
    await publishers;
  }
  expect(failures).toEqual([]);
  expect(published).toBeGreaterThan(0);
}, 120_000);
