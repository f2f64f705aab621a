import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startReceiver, type Receiver } from '../helpers/receiver.js';
import { startTestService, type TestService } from '../helpers/service.js';
import { createEndpoint, waitUntil } from '../helpers/flows.js';

let service: TestService;
let receiver: Receiver;
let flakyHealthy = false;

beforeAll(async () => {
  service = await startTestService();
  receiver = await startReceiver({
    respond: (req) => {
      if (req.path.startsWith('/ops')) return { status: 200 };
      if (req.path.startsWith('/flaky')) return { status: flakyHealthy ? 200 : 500 };
      return { status: 500 };
    },
  });
});
afterAll(async () => {
  await receiver?.close();
  await service?.close();
});

const PUBLISH = `mutation($inputs: [PublishEventInput!]!) { publishEvents(inputs: $inputs) { deliveryCount } }`;

/** Operational events a receiver path got, as parsed bodies. */
const eventsAt = (path: string) => receiver.requests.filter((r) => r.path === path).map((r) => JSON.parse(r.rawBody) as { type: string; data: any });

describe('operational events in the organization stream', () => {
  it('tells another endpoint that a circuit opened, then recovered; never the endpoint itself', async () => {
    const admin = service.client();
    const ops = await createEndpoint(admin, { url: `${receiver.url}/ops`, patterns: ['webhook.*'] });
    // Subscribed to the operational events too: they must never come back to it.
    const flaky = await createEndpoint(admin, {
      url: `${receiver.url}/flaky?token=secret-in-query`,
      patterns: ['pipeline.*', 'webhook.*'],
      circuitBreaker: { enabled: true, failureThreshold: 2, cooldownSeconds: 1 },
      retryPolicy: { initialBackoffSeconds: 1, multiplier: 1, maxBackoffSeconds: 1, maxAttempts: 20 },
    });
    await admin.data(PUBLISH, { inputs: [{ type: 'pipeline.run.failed', data: { n: 1 } }, { type: 'pipeline.run.failed', data: { n: 2 } }] });
    const opened = await waitUntil(
      'circuit_opened at the ops endpoint',
      async () => eventsAt('/ops').find((e) => e.type === 'webhook.endpoint.circuit_opened'),
      15_000,
    );
    expect(opened.data).toMatchObject({ endpointId: flaky.id, consecutiveFailures: 2, lastErrorClass: 'HTTP_STATUS', lastResponseStatus: 500 });
    // The URL without its query string: receivers put tokens there.
    expect(opened.data.url).toBe(`${receiver.url}/flaky`);
    expect(Date.parse(opened.data.nextProbeAt)).toBeGreaterThan(Date.parse(opened.data.openedAt));

    flakyHealthy = true;
    const recovered = await waitUntil(
      'recovered at the ops endpoint',
      async () => eventsAt('/ops').find((e) => e.type === 'webhook.endpoint.recovered'),
      15_000,
    );
    expect(recovered.data).toMatchObject({ endpointId: flaky.id, openedAt: opened.data.openedAt });
    expect(recovered.data.downtimeSeconds).toBeGreaterThanOrEqual(0);
    await waitUntil('the backlog drained', async () =>
      (await service.database.sql`SELECT 1 FROM deliveries WHERE endpoint_id = ${flaky.id} AND status = 'PENDING'`).length === 0,
    );
    expect(eventsAt('/flaky?token=secret-in-query').filter((e) => e.type.startsWith('webhook.'))).toEqual([]);
    const [count] = await service.database.sql<{ n: number }[]>`
      SELECT count(*)::int AS n FROM deliveries d JOIN events e ON e.id = d.event_id
      WHERE d.endpoint_id = ${flaky.id} AND e.type LIKE 'webhook.%'`;
    expect(count!.n).toBe(0);
    expect(ops.id).toBeTruthy();
  });

  it('tells another endpoint when a delivery is exhausted, and never feeds a loop between failing endpoints', async () => {
    const admin = service.client();
    await createEndpoint(admin, { url: `${receiver.url}/ops2`, patterns: ['webhook.delivery.exhausted'] });
    const dying = await createEndpoint(admin, {
      url: `${receiver.url}/dying`,
      patterns: ['orchestration.*', 'webhook.*'],
      retryPolicy: { initialBackoffSeconds: 1, multiplier: 1, maxBackoffSeconds: 1, maxAttempts: 1 },
      circuitBreaker: { enabled: false },
    });
    // A second failing endpoint subscribed to the same operational events as the first.
    const alsoDying = await createEndpoint(admin, {
      url: `${receiver.url}/also-dying`,
      patterns: ['webhook.*'],
      retryPolicy: { initialBackoffSeconds: 1, multiplier: 1, maxBackoffSeconds: 1, maxAttempts: 1 },
      circuitBreaker: { enabled: false },
    });
    await admin.data(PUBLISH, { inputs: [{ type: 'orchestration.job.queued', data: { job: 'j-1' } }] });
    const exhausted = await waitUntil(
      'exhausted at the ops endpoint',
      async () => eventsAt('/ops2').find((e) => e.type === 'webhook.delivery.exhausted' && e.data.endpointId === dying.id),
      15_000,
    );
    const [delivery] = await service.database.sql<{ id: string; event_id: string }[]>`
      SELECT d.id, d.event_id FROM deliveries d JOIN events e ON e.id = d.event_id
      WHERE d.endpoint_id = ${dying.id} AND e.type = 'orchestration.job.queued'`;
    expect(exhausted.data).toMatchObject({
      deliveryId: delivery!.id,
      eventId: delivery!.event_id,
      eventType: 'orchestration.job.queued',
      attempts: 1,
      lastErrorClass: 'HTTP_STATUS',
      lastResponseStatus: 500,
    });
    // The exhausted event itself reached the other failing endpoint and died there: that death
    // raises no further event (they would otherwise ping-pong forever).
    await waitUntil('the operational event died at the other endpoint', async () =>
      (await service.database.sql`
        SELECT 1 FROM deliveries d JOIN events e ON e.id = d.event_id
        WHERE d.endpoint_id = ${alsoDying.id} AND e.type = 'webhook.delivery.exhausted' AND d.status = 'DEAD'`).length > 0,
    );
    await new Promise((r) => setTimeout(r, 1500));
    const [row] = await service.database.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM events WHERE type = 'webhook.delivery.exhausted'`;
    expect(row!.n).toBe(1);
  });
});
