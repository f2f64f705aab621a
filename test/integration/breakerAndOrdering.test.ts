import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestService, type TestService } from '../helpers/service.js';
import { startReceiver, type Receiver, type ResponseSpec } from '../helpers/receiver.js';
import { attemptsOf, createEndpoint, publish, waitForDeliveries, waitUntil } from '../helpers/flows.js';

let service: TestService;
let receiver: Receiver;
const behaviour = new Map<string, (body: { data: Record<string, unknown> }) => ResponseSpec>();

beforeAll(async () => {
  service = await startTestService();
  receiver = await startReceiver({ respond: (req) => behaviour.get(req.path)?.(JSON.parse(req.rawBody)) ?? { status: 200 } });
});
afterAll(async () => {
  await receiver?.close();
  await service?.close();
});

async function publishBatch(type: string, items: Record<string, unknown>[], orderingKey?: string) {
  const result = await service.client().data(
    `mutation($inputs: [PublishEventInput!]!) { publishEvents(inputs: $inputs) { event { id } } }`,
    { inputs: items.map((data) => ({ type, data, orderingKey })) },
  );
  return result.publishEvents.map((p: { event: { id: string } }) => p.event.id) as string[];
}

describe('circuit breaker', () => {
  it('opens after consecutive failures, holds deliveries without spending attempts, probes once, closes and drains', async () => {
    const admin = service.client();
    let healthy = false;
    behaviour.set('/breaker', () => (healthy ? { status: 200 } : { status: 502 }));
    const endpoint = await createEndpoint(admin, {
      url: `${receiver.url}/breaker`,
      patterns: ['pipeline.run.failed'],
      maxInFlight: 1,
      circuitBreaker: { enabled: true, failureThreshold: 3, cooldownSeconds: 2 },
      retryPolicy: { initialBackoffSeconds: 1, multiplier: 1, maxBackoffSeconds: 1, maxAttempts: 20 },
    });
    const ids = await publishBatch('pipeline.run.failed', Array.from({ length: 6 }, (_, i) => ({ i })));
    await waitUntil('breaker to open', async () => {
      const r = await admin.data(`query($id: ID!) { endpoint(id: $id) { circuitState } }`, { id: endpoint.id });
      return r.endpoint.circuitState === 'OPEN';
    });
    const attemptsWhenOpened = receiver.requests.filter((r) => r.path === '/breaker').length;
    expect(attemptsWhenOpened).toBe(3);
    // During the cooldown nothing is sent and no attempt is spent.
    await new Promise((r) => setTimeout(r, 1000));
    expect(receiver.requests.filter((r) => r.path === '/breaker').length).toBe(3);

    // The probe after the cooldown fails: reopened with a doubled cooldown.
    await waitUntil('failed probe', async () => receiver.requests.filter((r) => r.path === '/breaker').length === 4, 5000);
    await waitUntil('reopened', async () => {
      const [row] = await service.database.sql<{ circuit_state: string; circuit_cooldown_seconds: number }[]>`
        SELECT circuit_state, circuit_cooldown_seconds FROM endpoints WHERE id = ${endpoint.id}`;
      return row!.circuit_state === 'OPEN' && row!.circuit_cooldown_seconds === 4;
    });
    healthy = true;
    for (const id of ids) await waitForDeliveries(service, id, ['SUCCEEDED'], 15_000);
    const state = await admin.data(`query($id: ID!) { endpoint(id: $id) { circuitState } }`, { id: endpoint.id });
    expect(state.endpoint.circuitState).toBe('CLOSED');
    // 6 successes + 4 failures: deliveries that waited behind the open breaker spent nothing.
    expect(receiver.requests.filter((r) => r.path === '/breaker').length).toBe(10);
  }, 30_000);
});

describe('ordering', () => {
  it('STRICT: a failing delivery holds back later ones with its orderingKey until it succeeds', async () => {
    const admin = service.client();
    let failedOnce = false;
    behaviour.set('/strict', (body) => {
      if (body.data.seq === 0 && !failedOnce) {
        failedOnce = true;
        return { status: 500 };
      }
      return { status: 200 };
    });
    await createEndpoint(admin, {
      url: `${receiver.url}/strict`,
      patterns: ['orchestration.backfill.segment_completed'],
      orderingMode: 'STRICT',
      retryPolicy: { initialBackoffSeconds: 1, multiplier: 1, maxBackoffSeconds: 1, maxAttempts: 5 },
    });
    const ids = await publishBatch('orchestration.backfill.segment_completed', Array.from({ length: 5 }, (_, seq) => ({ seq })), 'run-42');
    for (const id of ids) await waitForDeliveries(service, id, ['SUCCEEDED'], 15_000);
    const received = receiver.requests.filter((r) => r.path === '/strict').map((r) => JSON.parse(r.rawBody).data.seq);
    expect(received).toEqual([0, 0, 1, 2, 3, 4]);
  });

  it('BEST_EFFORT: never two deliveries with the same orderingKey in flight to one endpoint', async () => {
    const admin = service.client();
    const inFlight = new Map<string, number>();
    let maxPerKey = 0;
    let maxTotal = 0;
    let total = 0;
    const seen: { key: string; i: number }[] = [];
    behaviour.set('/keys', (body) => {
      const key = String(body.data.key);
      const now = (inFlight.get(key) ?? 0) + 1;
      inFlight.set(key, now);
      total++;
      maxPerKey = Math.max(maxPerKey, now);
      maxTotal = Math.max(maxTotal, total);
      seen.push({ key, i: Number(body.data.i) });
      setTimeout(() => {
        inFlight.set(key, (inFlight.get(key) ?? 1) - 1);
        total--;
      }, 40);
      return { status: 200, delayMs: 40 };
    });
    await createEndpoint(admin, { url: `${receiver.url}/keys`, patterns: ['pipeline.run.succeeded'], maxInFlight: 8 });
    const a = await publishBatch('pipeline.run.succeeded', Array.from({ length: 8 }, (_, i) => ({ key: 'A', i })), 'A');
    const b = await publishBatch('pipeline.run.succeeded', Array.from({ length: 8 }, (_, i) => ({ key: 'B', i })), 'B');
    for (const id of [...a, ...b]) await waitForDeliveries(service, id, ['SUCCEEDED'], 15_000);
    expect(maxPerKey).toBe(1);
    expect(maxTotal).toBe(2); // A and B do go in parallel
    // Publish order per key.
    for (const key of ['A', 'B']) expect(seen.filter((s) => s.key === key).map((s) => s.i)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });

  it('keeps at most maxInFlight requests at once and respects rateLimitPerSecond', async () => {
    const admin = service.client();
    let current = 0;
    let peak = 0;
    behaviour.set('/capped', () => {
      current++;
      peak = Math.max(peak, current);
      setTimeout(() => current--, 80);
      return { status: 200, delayMs: 80 };
    });
    await createEndpoint(admin, { url: `${receiver.url}/capped`, patterns: ['security.policy.changed'], maxInFlight: 3 });
    const ids = await publishBatch('security.policy.changed', Array.from({ length: 15 }, (_, i) => ({ i })));
    for (const id of ids) await waitForDeliveries(service, id, ['SUCCEEDED'], 15_000);
    expect(peak).toBe(3);

    await createEndpoint(admin, { url: `${receiver.url}/rated`, patterns: ['governance.contract.violation_detected'], rateLimitPerSecond: 4 });
    const rated = await publishBatch('governance.contract.violation_detected', Array.from({ length: 10 }, (_, i) => ({ i })));
    for (const id of rated) await waitForDeliveries(service, id, ['SUCCEEDED'], 15_000);
    const times = receiver.requests.filter((r) => r.path === '/rated').map((r) => r.receivedAtMs).sort((x, y) => x - y);
    // A bucket of 4 tokens refilling at 4/s: 10 requests need at least 1.5 s.
    expect(times.at(-1)! - times[0]!).toBeGreaterThanOrEqual(1400);
    // Never more than 4 in any one-second window, plus the bucket's initial burst.
    for (let i = 0; i + 8 < times.length; i++) expect(times[i + 8]! - times[i]!).toBeGreaterThanOrEqual(1000);
  });

  it('attempts deliveries of one endpoint in publish order', async () => {
    const admin = service.client();
    await createEndpoint(admin, { url: `${receiver.url}/fifo`, patterns: ['pipeline.run.cancelled'], maxInFlight: 1 });
    const ids = await publishBatch('pipeline.run.cancelled', Array.from({ length: 30 }, (_, i) => ({ i })));
    for (const id of ids) await waitForDeliveries(service, id, ['SUCCEEDED'], 15_000);
    const order = receiver.requests.filter((r) => r.path === '/fifo').map((r) => JSON.parse(r.rawBody).data.i);
    expect(order).toEqual(Array.from({ length: 30 }, (_, i) => i));
    const [first] = await service.database.sql<{ id: string }[]>`SELECT id FROM deliveries WHERE event_id = ${ids[0]!}`;
    expect((await attemptsOf(service, first!.id))).toHaveLength(1);
  });
});
