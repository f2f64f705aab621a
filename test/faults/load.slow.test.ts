/**
 * Load (slow, `npm run test:faults` only): a worker process drains a backlog at full speed
 * while the api (this process) keeps answering queries. Every query must succeed, and its p99 is
 * recorded next to the same queries' p99 on an idle system. The bound asserted is a liveness
 * bound (the API is not starved), not a performance target: targets are measured by
 * `npm run bench`, never by timed tests.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestService, type TestService } from '../helpers/service.js';
import { startReceiver, type Receiver } from '../helpers/receiver.js';
import { spawnServiceProcess, type ServiceProcess } from '../helpers/processes.js';
import { createEndpoint, waitUntil } from '../helpers/flows.js';
import type { GraphQLClient } from '../helpers/graphql.js';
import { percentile, recordFigures, sleep } from './support.js';

const ENDPOINTS = 2;
const EVENTS = 10_000;
const CONCURRENCY = 4;
const P99_LIVENESS_BOUND_MS = 3_000;

let api: TestService;
let worker: ServiceProcess | null = null;
let receiver: Receiver;

beforeAll(async () => {
  api = await startTestService({ WEBHOOKS_ROLES: 'api', WEBHOOKS_DB_POOL_SIZE: '10' });
  receiver = await startReceiver({ respond: () => ({ status: 200 }) });
});
afterAll(async () => {
  await worker?.kill('SIGKILL');
  await receiver?.close();
  await api?.close();
});

describe('the API under delivery load', () => {
  it('keeps answering queries (p99 recorded) while the worker delivers at full speed', async () => {
    const admin = api.client();
    const endpointIds: string[] = [];
    for (let i = 0; i < ENDPOINTS; i++) {
      endpointIds.push((await createEndpoint(admin, { url: `${receiver.url}/load-${i}`, patterns: ['pipeline.run.succeeded'], maxInFlight: 64 })).id);
    }
    let someDelivery = '';
    const queries: [string, (c: GraphQLClient) => Promise<unknown>][] = [
      ['viewer', (c) => c.data(`{ viewer { role org { id } } }`)],
      ['endpoints', (c) => c.data(`{ endpoints(first: 20) { edges { node { id url circuitState eventSubscriptions { pattern } } } } }`)],
      ['deliveries', (c) => c.data(`{ deliveries(first: 50, filter: { statuses: [SUCCEEDED] }) { edges { node { id status attemptCount lastAttempt { durationMs } } } } }`)],
      ['events', (c) => c.data(`{ events(first: 20) { edges { node { id type deliveries { id status } } } } }`)],
      [
        'delivery',
        async (c) => {
          if (!someDelivery) return c.data(`{ viewer { role } }`);
          return c.data(`query($id: ID!) { delivery(id: $id) { id status attempts { id responseStatus durationMs } } }`, { id: someDelivery });
        },
      ],
      [
        'deliveryStats',
        (c) =>
          c.data(`query($id: ID!, $since: DateTime!) { deliveryStats(endpointId: $id, since: $since, bucketSeconds: 60) { total succeeded p99 } }`, {
            id: endpointIds[0],
            since: new Date(Date.now() - 10 * 60_000).toISOString(),
          }),
      ],
    ];
    const measure = async (until: () => boolean, minimum: number) => {
      const latencies: number[] = [];
      let errors = 0;
      let i = 0;
      await Promise.all(
        Array.from({ length: CONCURRENCY }, async () => {
          while (latencies.length + errors < minimum || !until()) {
            const [, run] = queries[i++ % queries.length]!;
            const started = performance.now();
            try {
              await run(admin);
              latencies.push(performance.now() - started);
            } catch {
              errors++;
            }
            if (latencies.length + errors > 100_000) break;
          }
        }),
      );
      return { latencies, errors };
    };

    // Idle baseline: the same queries with nothing to deliver.
    const idle = await measure(() => true, 240);

    // The backlog, then the worker: it drains at full speed while queries go on.
    for (let b = 0; b < EVENTS / 1000; b++) {
      const inputs = Array.from({ length: 1000 }, (_, i) => ({ type: 'pipeline.run.succeeded', data: { b, i, pad: 'x'.repeat(512) } }));
      await admin.data(`mutation($inputs: [PublishEventInput!]!) { publishEvents(inputs: $inputs) { event { id } } }`, { inputs });
    }
    const [first] = await api.database.sql<{ id: string }[]>`SELECT id FROM deliveries LIMIT 1`;
    someDelivery = first!.id;
    const total = EVENTS * ENDPOINTS;
    worker = await spawnServiceProcess({ WEBHOOKS_ROLES: 'worker', DATABASE_URL: api.testDatabase.url, WEBHOOKS_MASTER_KEY: api.masterKey });
    await worker.ready(60_000);
    await waitUntil('delivering to start', async () => receiver.requests.length > 100, 30_000);
    const startedAt = Date.now();
    const startedCount = receiver.requests.length;
    let drained = false;
    const drain = waitUntil(
      'the backlog to drain',
      async () => {
        const [row] = await api.database.sql<{ done: number }[]>`SELECT count(*) FILTER (WHERE status = 'SUCCEEDED')::int AS done FROM deliveries`;
        drained = row!.done >= total;
        return drained;
      },
      240_000,
    );
    // Measure while the worker is busy (stop at 80% of the backlog so the tail does not dilute it).
    const loaded = await measure(() => drained || receiver.requests.length >= total * 0.8, 200);
    const loadedEndedAt = Date.now();
    const deliveredDuring = receiver.requests.length - startedCount;
    await drain;

    const figures = {
      deliveries: total,
      deliveriesPerSecondWhileMeasuring: Math.round(deliveredDuring / ((loadedEndedAt - startedAt) / 1000)),
      queriesIdle: idle.latencies.length,
      idleP50Ms: Math.round(percentile(idle.latencies, 50)),
      idleP99Ms: Math.round(percentile(idle.latencies, 99)),
      queriesUnderLoad: loaded.latencies.length,
      queryErrorsUnderLoad: loaded.errors,
      loadedP50Ms: Math.round(percentile(loaded.latencies, 50)),
      loadedP99Ms: Math.round(percentile(loaded.latencies, 99)),
      concurrency: CONCURRENCY,
    };
    recordFigures('load', figures);
    expect(loaded.errors).toBe(0);
    expect(idle.errors).toBe(0);
    expect(loaded.latencies.length).toBeGreaterThanOrEqual(200);
    expect(deliveredDuring).toBeGreaterThan(0);
    expect(figures.loadedP99Ms).toBeLessThan(P99_LIVENESS_BOUND_MS);
    await sleep(0);
  }, 300_000);
});
