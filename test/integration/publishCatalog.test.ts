/**
 * Publishers cache each organization's lookup (active endpoints, their patterns, event types)
 * and the publish statement checks organizations.catalog_version. A second publisher with its
 * own cache stands for another api process: every change made elsewhere (mutations through the
 * API, a worker disabling an endpoint after a 410) reaches its very next publish.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestService, type TestService } from '../helpers/service.js';
import { startReceiver, type Receiver } from '../helpers/receiver.js';
import { createEndpoint, waitUntil } from '../helpers/flows.js';
import type { GraphQLClient } from '../helpers/graphql.js';
import { createPublisher, type Publisher } from '../../server/engine/publish.js';
import { createWakeSender } from '../../server/db/notifications.js';
import { DomainError } from '../../server/domain/errors.js';

let api: TestService;
let receiver: Receiver;
let admin: GraphQLClient;
let elsewhere: Publisher;

const version = async () =>
  Number((await api.engine.database.sql<{ v: string }[]>`SELECT catalog_version AS v FROM organizations WHERE id = ${api.orgId}`)[0]!.v);

/** Deliveries the other process's publisher creates for one event of `type`. */
async function deliveriesFor(type: string): Promise<number> {
  const [outcome] = await elsewhere.publish(api.orgId, [{ type, data: { at: Date.now() } }]);
  return outcome!.deliveryCount;
}

async function rejection(type: string): Promise<DomainError> {
  const failure = await elsewhere.publish(api.orgId, [{ type, data: {} }]).catch((e: unknown) => e);
  expect(failure).toBeInstanceOf(DomainError);
  return failure as DomainError;
}

beforeAll(async () => {
  api = await startTestService();
  receiver = await startReceiver({ respond: (req) => (req.path.includes('/gone') ? { status: 410 } : { status: 200 }) });
  admin = api.client();
  const database = api.engine.database;
  elsewhere = createPublisher({
    database,
    jobs: api.engine.jobs,
    wake: createWakeSender(database.signalSql, (err) => console.error('wake-up failed', err)),
  });
}, 60_000);

afterAll(async () => {
  await receiver?.close();
  await api?.close();
});

describe('the publish lookup cache', () => {
  it('sees endpoints created, re-subscribed, paused, resumed and deleted by another process', async () => {
    expect(await deliveriesFor('orchestration.job.queued')).toBe(0); // cache warm: no endpoint
    const endpoint = await createEndpoint(admin, { url: `${receiver.url}/cache`, patterns: ['orchestration.job.queued'] });
    expect(await deliveriesFor('orchestration.job.queued')).toBe(1);
    expect(await deliveriesFor('orchestration.job.queued')).toBe(1);

    await admin.data(`mutation($id: ID!) { setEventSubscriptions(endpointId: $id, patterns: ["orchestration.lease.acquired"]) { id } }`, { id: endpoint.id });
    expect(await deliveriesFor('orchestration.job.queued')).toBe(0);
    expect(await deliveriesFor('orchestration.lease.acquired')).toBe(1);

    await admin.data(`mutation($id: ID!) { pauseEndpoint(id: $id) { id } }`, { id: endpoint.id });
    expect(await deliveriesFor('orchestration.lease.acquired')).toBe(0);
    await admin.data(`mutation($id: ID!) { resumeEndpoint(id: $id) { id } }`, { id: endpoint.id });
    expect(await deliveriesFor('orchestration.lease.acquired')).toBe(1);

    await admin.data(`mutation($id: ID!) { deleteEndpoint(id: $id) { deletedEndpointId } }`, { id: endpoint.id });
    expect(await deliveriesFor('orchestration.lease.acquired')).toBe(0);
  });

  it('sees event types created and deprecated by another process', async () => {
    expect((await rejection('acme.cache.tested')).code).toBe('BAD_USER_INPUT');
    const created = await admin.data(`mutation { createEventType(input: { name: "acme.cache.tested" }) { id } }`);
    expect(await deliveriesFor('acme.cache.tested')).toBe(0); // accepted now (no endpoint wants it)
    await admin.data(`mutation($id: ID!) { deprecateEventType(id: $id) { id } }`, { id: created.createEventType.id });
    expect((await rejection('acme.cache.tested')).message).toMatch(/deprecated/);
  });

  it('sees an endpoint the worker disabled after 410 Gone, and breaker bookkeeping does not invalidate it', async () => {
    const gone = await createEndpoint(admin, { url: `${receiver.url}/gone`, patterns: ['governance.contract.violation_detected'] });
    const before = await version();
    expect(await deliveriesFor('governance.contract.violation_detected')).toBe(1);
    await waitUntil('the worker to disable the endpoint', async () => {
      const { endpoint } = await admin.data(`query($id: ID!) { endpoint(id: $id) { active } }`, { id: gone.id });
      return !endpoint.active;
    });
    expect(await version()).toBe(before + 1);
    expect(await deliveriesFor('governance.contract.violation_detected')).toBe(0);

    // A failure that only moves the breaker's counters changes nothing publishing reads.
    const failing = await startReceiver({ respond: () => ({ status: 500 }) });
    try {
      const flaky = await createEndpoint(admin, { url: `${failing.url}/flaky`, patterns: ['governance.catalog.sync_finished'], retryPolicy: { maxAttempts: 1 } });
      const settled = await version();
      expect(await deliveriesFor('governance.catalog.sync_finished')).toBe(1);
      await waitUntil('the failed attempt', async () => {
        const { endpoint } = await admin.data(`query($id: ID!) { endpoint(id: $id) { consecutiveFailures } }`, { id: flaky.id });
        return endpoint.consecutiveFailures > 0;
      });
      expect(await version()).toBe(settled);
    } finally {
      await failing.close();
    }
  });

  it('answers NOT_FOUND for an organization that does not exist, and writes nothing', async () => {
    const failure = (await elsewhere.publish('org_missing', [{ type: 'pipeline.run.started', data: {} }]).catch((e: unknown) => e)) as DomainError;
    expect(failure).toBeInstanceOf(DomainError);
    expect(failure.code).toBe('NOT_FOUND');
    const [row] = await api.engine.database.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM events WHERE org_id = 'org_missing'`;
    expect(row!.n).toBe(0);
  });

  it('does not cache what it read inside a caller\'s transaction', async () => {
    const endpointCount = async () => deliveriesFor('security.api_key.created');
    const before = await endpointCount();
    // A transaction that adds a subscription and publishes in it, then rolls back.
    const [endpoint] = await api.engine.database.sql<{ id: string }[]>`SELECT id FROM endpoints WHERE org_id = ${api.orgId} AND active AND deleted_at IS NULL LIMIT 1`;
    expect(endpoint).toBeDefined();
    await api.engine.database.sql
      .begin(async (tx) => {
        await tx`INSERT INTO event_subscriptions (endpoint_id, pattern) VALUES (${endpoint!.id}, 'security.api_key.created')`;
        const [inside] = await elsewhere.publish(api.orgId, [{ type: 'security.api_key.created', data: {} }], () => '', tx);
        expect(inside!.deliveryCount).toBe(before + 1);
        throw new Error('roll back');
      })
      .catch((e: Error) => expect(e.message).toBe('roll back'));
    expect(await endpointCount()).toBe(before);
  });
});
