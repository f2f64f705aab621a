import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestService, type TestService } from '../helpers/service.js';
import { startReceiver, type Receiver, type ResponseSpec } from '../helpers/receiver.js';
import { attemptsOf, createEndpoint, deliveriesOf, publish, waitForDeliveries, waitUntil } from '../helpers/flows.js';

let service: TestService;
let receiver: Receiver;
/** Per-path behaviour; default 200. */
const behaviour = new Map<string, () => ResponseSpec>();

beforeAll(async () => {
  service = await startTestService();
  receiver = await startReceiver({ respond: (req) => behaviour.get(req.path)?.() ?? { status: 200 } });
});
afterAll(async () => {
  await receiver?.close();
  await service?.close();
});

const fast = { initialBackoffSeconds: 1, multiplier: 2, maxBackoffSeconds: 2, maxAttempts: 3 };

describe('retries and dead letters', () => {
  it('retries on the endpoint policy, then dead-letters after maxAttempts', async () => {
    const admin = service.client();
    behaviour.set('/always-500', () => ({ status: 500, body: 'boom' }));
    await createEndpoint(admin, { url: `${receiver.url}/always-500`, patterns: ['pipeline.run.failed'], retryPolicy: fast });
    const published = await publish(admin, { type: 'pipeline.run.failed', data: { run: 'r' } });
    const [delivery] = await waitForDeliveries(service, published.event.id, ['DEAD'], 15_000);
    const attempts = await attemptsOf(service, delivery!.id);
    expect(attempts.map((a) => a.attempt_number)).toEqual([1, 2, 3]);
    expect(attempts.every((a) => !a.succeeded && a.error_class === 'HTTP_STATUS' && a.response_status === 500)).toBe(true);
    expect(attempts[0]!.error_message).toMatch(/500/);
    // Attempt 2 waits initial × multiplier^0 = 1 s, attempt 3 waits min(2, max 2) = 2 s, each ±20%.
    const gap1 = attempts[1]!.started_at.getTime() - attempts[0]!.started_at.getTime();
    const gap2 = attempts[2]!.started_at.getTime() - attempts[1]!.started_at.getTime();
    expect(gap1).toBeGreaterThanOrEqual(800);
    expect(gap2).toBeGreaterThanOrEqual(1600);
    expect(delivery!.attempt_count).toBe(3);
    expect(delivery!.next_attempt_at).toBeNull();
    const dead = await admin.data(`query { deliveries(filter: { statuses: [DEAD] }) { edges { node { id } } } }`);
    expect(dead.deliveries.edges.map((e: { node: { id: string } }) => e.node.id)).toContain(delivery!.id);
  });

  it('retries a dead delivery by hand once; it succeeds when the receiver is healthy again', async () => {
    const admin = service.client();
    let healthy = false;
    behaviour.set('/recovers', () => (healthy ? { status: 204 } : { status: 503 }));
    await createEndpoint(admin, { url: `${receiver.url}/recovers`, patterns: ['pipeline.run.started'], retryPolicy: { ...fast, maxAttempts: 1 } });
    const published = await publish(admin, { type: 'pipeline.run.started', data: {} });
    const [delivery] = await waitForDeliveries(service, published.event.id, ['DEAD']);

    // Still failing: one manual attempt, then DEAD again (no new multi-day schedule).
    const again = await admin.data(`mutation($id: ID!) { retryDelivery(id: $id) { id status } }`, { id: delivery!.id });
    expect(again.retryDelivery.status).toBe('PENDING');
    await waitUntil('manual attempt', async () => (await attemptsOf(service, delivery!.id)).length === 2);
    await waitForDeliveries(service, published.event.id, ['DEAD']);

    healthy = true;
    await admin.data(`mutation($id: ID!) { retryDelivery(id: $id) { id } }`, { id: delivery!.id });
    await waitForDeliveries(service, published.event.id, ['SUCCEEDED']);
    const attempts = await attemptsOf(service, delivery!.id);
    expect(attempts.map((a) => [a.attempt_number, a.trigger, a.succeeded])).toEqual([
      [1, 'SCHEDULED', false],
      [2, 'MANUAL', false],
      [3, 'MANUAL', true],
    ]);
  });

  it('attempts a failed delivery that waits for its next retry now, when asked', async () => {
    const admin = service.client();
    let calls = 0;
    behaviour.set('/slow-policy', () => (++calls === 1 ? { status: 500 } : { status: 200 }));
    await createEndpoint(admin, {
      url: `${receiver.url}/slow-policy`,
      patterns: ['orchestration.job.queued'],
      retryPolicy: { initialBackoffSeconds: 3600, multiplier: 1, maxBackoffSeconds: 3600, maxAttempts: 5 },
    });
    const published = await publish(admin, { type: 'orchestration.job.queued', data: {} });
    const [delivery] = await waitUntil('first failure', async () => {
      const rows = await deliveriesOf(service, published.event.id);
      return rows[0]?.attempt_count === 1 ? rows : null;
    });
    expect(delivery!.status).toBe('PENDING');
    expect(delivery!.next_attempt_at!.getTime()).toBeGreaterThan(Date.now() + 2000 * 1000);
    await admin.data(`mutation($id: ID!) { retryDelivery(id: $id) { id } }`, { id: delivery!.id });
    await waitForDeliveries(service, published.event.id, ['SUCCEEDED']);
    expect((await attemptsOf(service, delivery!.id)).map((a) => a.trigger)).toEqual(['SCHEDULED', 'MANUAL']);
  });

  it('refuses to retry deliveries that are not dead or failed, and other organizations’ deliveries', async () => {
    const admin = service.client();
    await createEndpoint(admin, { url: `${receiver.url}/ok`, patterns: ['security.sso_certificate.expiring'] });
    const published = await publish(admin, { type: 'security.sso_certificate.expiring', data: {} });
    const [delivery] = await waitForDeliveries(service, published.event.id, ['SUCCEEDED']);
    const succeeded = await admin.error(`mutation($id: ID!) { retryDelivery(id: $id) { id } }`, { id: delivery!.id });
    expect(succeeded.code).toBe('BAD_USER_INPUT');
    expect(succeeded.message).toMatch(/already succeeded/);
    const missing = await admin.error(`mutation { retryDelivery(id: "dlv_00000000000000000000000000") { id } }`);
    expect(missing.code).toBe('NOT_FOUND');
    const other = await service.services.organizations.createOrganization({ name: 'other-retry-org' });
    const foreign = await service.client(other.apiKey).error(`mutation($id: ID!) { retryDelivery(id: $id) { id } }`, { id: delivery!.id });
    expect(foreign.code).toBe('NOT_FOUND');
  });

  it('replays dead deliveries in bulk and reports how many; a filter matching nothing answers 0', async () => {
    const admin = service.client();
    let healthy = false;
    behaviour.set('/bulk', () => (healthy ? { status: 200 } : { status: 500 }));
    const endpoint = await createEndpoint(admin, {
      url: `${receiver.url}/bulk`,
      patterns: ['governance.catalog.sync_finished'],
      retryPolicy: { ...fast, maxAttempts: 1 },
    });
    const events = [];
    for (let i = 0; i < 6; i++) events.push(await publish(admin, { type: 'governance.catalog.sync_finished', data: { i } }));
    for (const e of events) await waitForDeliveries(service, e.event.id, ['DEAD']);

    const none = await admin.data(`mutation($f: DeliveryFilter!) { replayDeliveries(filter: $f) { count } }`, {
      f: { endpointId: endpoint.id, eventType: 'pipeline.run.failed' },
    });
    expect(none.replayDeliveries.count).toBe(0);

    healthy = true;
    const replayed = await admin.data(`mutation($f: DeliveryFilter!) { replayDeliveries(filter: $f) { count } }`, {
      f: { endpointId: endpoint.id, statuses: ['DEAD'] },
    });
    expect(replayed.replayDeliveries.count).toBe(6);
    for (const e of events) await waitForDeliveries(service, e.event.id, ['SUCCEEDED']);
    const bad = await admin.error(`mutation { replayDeliveries(filter: { statuses: [SUCCEEDED] }) { count } }`);
    expect(bad.code).toBe('BAD_USER_INPUT');
  });
});

describe('answers that change the schedule', () => {
  it('disables the endpoint on 410 Gone and emits webhook.endpoint.disabled', async () => {
    const admin = service.client();
    behaviour.set('/gone', () => ({ status: 410 }));
    const endpoint = await createEndpoint(admin, { url: `${receiver.url}/gone`, patterns: ['pipeline.run.cancelled'], retryPolicy: fast });
    const watcher = await createEndpoint(admin, { url: `${receiver.url}/watch-disabled`, patterns: ['webhook.endpoint.disabled'] });
    const published = await publish(admin, { type: 'pipeline.run.cancelled', data: {} });
    await waitForDeliveries(service, published.event.id, ['DEAD']);
    const state = await admin.data(`query($id: ID!) { endpoint(id: $id) { active disabledReason } }`, { id: endpoint.id });
    expect(state.endpoint.active).toBe(false);
    expect(state.endpoint.disabledReason).toMatch(/410/);
    const notice = await waitUntil('disabled notice', async () =>
      receiver.requests.find((r) => r.path === '/watch-disabled' && JSON.parse(r.rawBody).data.endpointId === endpoint.id),
    );
    expect(JSON.parse(notice.rawBody)).toMatchObject({ type: 'webhook.endpoint.disabled', data: { endpointId: endpoint.id } });
    expect(watcher.id).toBeTruthy();
    // No new deliveries while disabled.
    const next = await publish(admin, { type: 'pipeline.run.cancelled', data: {} });
    expect((await deliveriesOf(service, next.event.id)).find((d) => d.endpoint_id === endpoint.id)).toBeUndefined();
  });

  it('waits at least Retry-After after a 429', async () => {
    const admin = service.client();
    let calls = 0;
    behaviour.set('/throttled', () => (++calls === 1 ? { status: 429, headers: { 'retry-after': '3' } } : { status: 200 }));
    await createEndpoint(admin, { url: `${receiver.url}/throttled`, patterns: ['orchestration.lease.acquired'], retryPolicy: { ...fast, maxBackoffSeconds: 10 } });
    const published = await publish(admin, { type: 'orchestration.lease.acquired', data: {} });
    const [delivery] = await waitForDeliveries(service, published.event.id, ['SUCCEEDED'], 15_000);
    const attempts = await attemptsOf(service, delivery!.id);
    expect(attempts.map((a) => a.response_status)).toEqual([429, 200]);
    expect(attempts[1]!.started_at.getTime() - attempts[0]!.started_at.getTime()).toBeGreaterThanOrEqual(2900);
  });
});
