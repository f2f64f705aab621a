/**
 * Bystanders of a hostile endpoint transformation and of heavy content filters (fast fault file):
 * - one endpoint's transformation loops until its deadline on every delivery, with a backlog;
 *   deliveries to the organization's other endpoints (one plain, one with a quick transformation)
 *   keep their publish→receipt latency;
 * - one organization with many filtered endpoints publishes big batches whose every filter runs
 *   its macro to the budget; another organization's small publishes keep their call latency.
 * The figures are recorded for docs/benchmarks.md; the bounds are loose (a shared 2-core machine).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestService, type TestService } from '../helpers/service.js';
import { startReceiver, type Receiver } from '../helpers/receiver.js';
import { createEndpoint, publish, waitForDeliveries } from '../helpers/flows.js';
import { recordFigures } from './support.js';

let service: TestService;
let receiver: Receiver;

beforeAll(async () => {
  service = await startTestService({ WEBHOOKS_TRANSFORMATION_TIMEOUT_MS: '200' });
  receiver = await startReceiver();
});
afterAll(async () => {
  await receiver?.close();
  await service?.close();
});

const percentile = (values: number[], p: number) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(p * values.length))]!;

describe('bystanders', () => {
  it('a looping transformation delays only its own endpoint', async () => {
    const admin = service.client();
    await createEndpoint(admin, { url: `${receiver.url}/looping`, patterns: ['orchestration.*'], maxInFlight: 16, transformation: 'function handler(w) { for (;;) {} }' });
    await createEndpoint(admin, { url: `${receiver.url}/plain`, patterns: ['orchestration.job.queued'] });
    await createEndpoint(admin, { url: `${receiver.url}/quick`, patterns: ['orchestration.job.queued'], transformation: 'function handler(w) { w.data.ok = true; return w; }' });
    // A backlog for the looping endpoint: 40 deliveries × 200 ms of sandbox each.
    for (let i = 0; i < 4; i++) {
      await admin.data(`mutation($inputs: [PublishEventInput!]!) { publishEvents(inputs: $inputs) { deliveryCount } }`, {
        inputs: Array.from({ length: 10 }, (_, j) => ({ type: 'orchestration.lease.acquired', data: { n: i * 10 + j } })),
      });
    }
    const latency: Record<'plain' | 'quick', number[]> = { plain: [], quick: [] };
    for (let i = 0; i < 20; i++) {
      const sentAt = Date.now();
      const published = await publish(admin, { type: 'orchestration.job.queued', data: { i } });
      await waitForDeliveries(service, published.event.id, ['SUCCEEDED', 'DEAD'], 20_000);
      for (const path of ['plain', 'quick'] as const) {
        const request = receiver.requests.find((r) => r.path === `/${path}` && r.headers['webhook-id'] === published.event.id);
        expect(request, `${path} received event ${i}`).toBeTruthy();
        latency[path].push(request!.receivedAtMs - sentAt);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    const looping = await service.database.sql<{ error_class: string | null }[]>`
      SELECT a.error_class FROM delivery_attempts a JOIN endpoints e ON e.id = a.endpoint_id WHERE e.url LIKE '%/looping'`;
    const figures = {
      loopingAttemptsMeanwhile: looping.length,
      plainP50Ms: percentile(latency.plain, 0.5),
      plainP95Ms: percentile(latency.plain, 0.95),
      quickTransformP50Ms: percentile(latency.quick, 0.5),
      quickTransformP95Ms: percentile(latency.quick, 0.95),
    };
    recordFigures('transformationBystander', figures);
    console.log('[transformation bystander]', JSON.stringify(figures));
    expect(looping.length).toBeGreaterThan(3);
    expect(looping.every((a) => a.error_class === 'TRANSFORMATION')).toBe(true);
    expect(figures.plainP95Ms).toBeLessThan(1_000);
    expect(figures.quickTransformP95Ms).toBeLessThan(1_500);
  });

  it('heavy filters of one organization do not stall another organization\'s publishes', async () => {
    const heavyOrg = await service.services.organizations.createOrganization({ name: `heavy-filters-${Date.now()}`, plan: 'enterprise' });
    const heavy = service.client(heavyOrg.apiKey);
    for (let i = 0; i < 100; i++) {
      await createEndpoint(heavy, { url: `${receiver.url}/heavy-${i}`, patterns: ['pipeline.run.started'], filter: 'data.items.exists(x, x == -1)' });
    }
    const admin = service.client();
    await createEndpoint(admin, { url: `${receiver.url}/light`, patterns: ['security.policy.changed'] });
    const items = Array.from({ length: 900 }, (_, i) => i);
    let heavyDone = false;
    const heavyCalls = (async () => {
      for (let i = 0; i < 3; i++) {
        await heavy.data(`mutation($inputs: [PublishEventInput!]!) { publishEvents(inputs: $inputs) { deliveryCount } }`, {
          inputs: Array.from({ length: 20 }, () => ({ type: 'pipeline.run.started', data: { items } })),
        });
      }
      heavyDone = true;
    })();
    const calls: number[] = [];
    await new Promise((r) => setTimeout(r, 200));
    while (!heavyDone && calls.length < 200) {
      const started = performance.now();
      await publish(admin, { type: 'security.policy.changed', data: { n: calls.length } });
      calls.push(performance.now() - started);
    }
    await heavyCalls;
    const figures = { lightPublishes: calls.length, lightPublishP50Ms: percentile(calls, 0.5), lightPublishP95Ms: percentile(calls, 0.95), lightPublishMaxMs: Math.max(...calls) };
    recordFigures('filterBystander', figures);
    console.log('[filter bystander]', JSON.stringify(figures));
    expect(calls.length).toBeGreaterThan(5);
    expect(figures.lightPublishP95Ms).toBeLessThan(500);
  });
});
