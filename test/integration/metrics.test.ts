/**
 * /metrics: valid Prometheus text on every role, counters and histograms that move with
 * deliveries, and gauges sampled from the database (queue depth, breaker states).
 */
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startTestService, type TestService } from '../helpers/service.js';
import { startReceiver, type Receiver } from '../helpers/receiver.js';
import { createEndpoint, publish, waitForDeliveries, waitUntil } from '../helpers/flows.js';
import { scrape } from '../helpers/prometheus.js';

let service: TestService;
let ok: Receiver;
let failing: Receiver;

beforeAll(async () => {
  service = await startTestService();
  ok = await startReceiver();
  failing = await startReceiver({ respond: () => ({ status: 502 }) });
});

afterAll(async () => {
  await service?.close();
  await ok?.close();
  await failing?.close();
});

describe('/metrics', () => {
  it('is valid exposition text with the process defaults and every webhooks family', async () => {
    const metrics = await scrape(service.url);
    for (const name of ['process_cpu_seconds_total', 'nodejs_eventloop_lag_p99_seconds', 'process_resident_memory_bytes']) {
      expect(metrics.has(name)).toBe(true);
    }
    expect(Object.fromEntries([...metrics.types].filter(([name]) => name.startsWith('webhooks_')))).toEqual({
      webhooks_attempts_total: 'counter',
      webhooks_deliveries_total: 'counter',
      webhooks_delivery_latency_seconds: 'histogram',
      webhooks_attempt_duration_seconds: 'histogram',
      webhooks_breaker_transitions_total: 'counter',
      webhooks_live_messages_total: 'counter',
      webhooks_live_dropped_total: 'counter',
      webhooks_live_lag_seconds: 'histogram',
      webhooks_live_row_loads_total: 'counter',
      webhooks_graphql_request_duration_seconds: 'histogram',
      webhooks_metrics_sample_errors_total: 'counter',
      webhooks_queue_waiting_jobs: 'gauge',
      webhooks_queue_active_jobs: 'gauge',
      webhooks_queue_oldest_due_age_seconds: 'gauge',
      webhooks_delivery_lag_seconds: 'gauge',
      webhooks_database_up: 'gauge',
      webhooks_endpoints_circuit: 'gauge',
      webhooks_endpoints_inactive: 'gauge',
      webhooks_history_rows: 'gauge',
      webhooks_history_bytes: 'gauge',
      webhooks_history_partitions: 'gauge',
      webhooks_history_oldest_age_seconds: 'gauge',
      webhooks_history_ready_ahead_seconds: 'gauge',
      webhooks_worker_owned_slots: 'gauge',
      webhooks_worker_in_flight: 'gauge',
      webhooks_worker_endpoint_states: 'gauge',
      webhooks_worker_cached_runtimes: 'gauge',
      webhooks_live_subscribers: 'gauge',
      webhooks_live_listener_up: 'gauge',
    });
    expect(metrics.value('webhooks_worker_owned_slots')).toBe(256);
    expect(metrics.value('webhooks_database_up')).toBe(1);
    expect(metrics.value('webhooks_live_listener_up')).toBe(1);
    // Histogram buckets span 1 ms to 1 h.
    const buckets = metrics.samples.filter((s) => s.name === 'webhooks_delivery_latency_seconds_bucket').map((s) => s.labels.le);
    expect(buckets[0]).toBe('0.001');
    expect(buckets).toContain('3600');
  });

  it('reports the history tables: partitions, bytes and the oldest partition age per table, rows as Postgres estimates them', async () => {
    const metrics = await scrape(service.url);
    for (const table of ['events', 'deliveries', 'delivery_attempts']) {
      // Today and PARTITIONS_AHEAD_DAYS (3) days ahead, and the DEFAULT partition.
      expect(metrics.value('webhooks_history_partitions', { table })).toBe(5);
      expect(metrics.value('webhooks_history_bytes', { table })).toBeGreaterThan(0);
      const age = metrics.value('webhooks_history_oldest_age_seconds', { table });
      expect(age).toBeGreaterThanOrEqual(0);
      expect(age).toBeLessThan(86_400);
      // Today's partition and three more days: between 3 and 4 days of room.
      const ahead = metrics.value('webhooks_history_ready_ahead_seconds', { table });
      expect(ahead).toBeGreaterThan(3 * 86_400);
      expect(ahead).toBeLessThanOrEqual(4 * 86_400);
      expect(metrics.value('webhooks_history_rows', { table })).toBeGreaterThanOrEqual(0);
    }
    // Rows are pg_class estimates: they follow ANALYZE (autovacuum), never a count(*).
    const endpoint = await createEndpoint(service.client(), { url: `${ok.url}/history`, patterns: ['pipeline.run.started'] });
    for (let i = 0; i < 3; i++) await publish(service.client(), { type: 'pipeline.run.started', data: { i } });
    await waitUntil('delivered', async () => (await service.database.sql`SELECT count(*)::int AS n FROM deliveries WHERE endpoint_id = ${endpoint.id} AND status = 'SUCCEEDED'`)[0]!.n === 3);
    await service.database.sql`ANALYZE events, deliveries, delivery_attempts`;
    const sizes = await service.engine.history.partitions.sizes();
    expect(sizes.find((s) => s.table === 'deliveries')!.rows).toBeGreaterThanOrEqual(3);
    expect(sizes.find((s) => s.table === 'delivery_attempts')!.rows).toBeGreaterThanOrEqual(3);
  });

  it('counts attempts and deliveries by outcome and error class, with latency and duration histograms', async () => {
    const before = await scrape(service.url);
    const good = await createEndpoint(service.client(), { url: `${ok.url}/m`, patterns: ['pipeline.run.succeeded'] });
    const bad = await createEndpoint(service.client(), { url: `${failing.url}/m`, patterns: ['pipeline.run.failed'], retryPolicy: { maxAttempts: 1 } });
    const events = [];
    for (let i = 0; i < 5; i++) events.push(await publish(service.client(), { type: 'pipeline.run.succeeded', data: { i } }));
    const dead = await publish(service.client(), { type: 'pipeline.run.failed', data: {} });
    for (const e of events) await waitForDeliveries(service, e.event.id, ['SUCCEEDED']);
    await waitForDeliveries(service, dead.event.id, ['DEAD']);

    const after = await scrape(service.url);
    const delta = (name: string, labels?: Record<string, string>) => after.value(name, labels) - before.value(name, labels);
    expect(delta('webhooks_attempts_total', { outcome: 'success', error_class: 'none', trigger: 'SCHEDULED' })).toBe(5);
    expect(delta('webhooks_attempts_total', { outcome: 'failure', error_class: 'HTTP_STATUS', trigger: 'SCHEDULED' })).toBe(1);
    expect(delta('webhooks_deliveries_total', { outcome: 'succeeded' })).toBe(5);
    expect(delta('webhooks_deliveries_total', { outcome: 'dead', error_class: 'HTTP_STATUS' })).toBe(1);
    expect(delta('webhooks_delivery_latency_seconds_count')).toBe(5);
    expect(delta('webhooks_delivery_latency_seconds_sum')).toBeGreaterThan(0);
    expect(delta('webhooks_attempt_duration_seconds_count', { outcome: 'success' })).toBe(5);
    expect(delta('webhooks_attempt_duration_seconds_count', { outcome: 'failure' })).toBe(1);
    expect(delta('webhooks_graphql_request_duration_seconds_count', { type: 'mutation', outcome: 'ok' })).toBeGreaterThanOrEqual(8);
    // No per-endpoint labels anywhere.
    expect(after.samples.some((s) => Object.values(s.labels).some((v) => v === good.id || v === bad.id))).toBe(false);
  });

  it('samples queue depth, the delivery lag and breaker states from the database', async () => {
    const slow = await createEndpoint(service.client(), { url: `${ok.url}/slow`, patterns: ['orchestration.job.queued'], rateLimitPerSecond: 1 });
    const opening = await createEndpoint(service.client(), {
      url: `${failing.url}/open`,
      patterns: ['security.policy.changed'],
      circuitBreaker: { failureThreshold: 1, cooldownSeconds: 3600 },
    });
    await service.client().data(`mutation($inputs: [PublishEventInput!]!) { publishEvents(inputs: $inputs) { deliveryCount } }`, {
      inputs: Array.from({ length: 30 }, (_, i) => ({ type: 'orchestration.job.queued', data: { i } })),
    });
    await publish(service.client(), { type: 'security.policy.changed', data: {} });
    // Samples are cached for a few seconds, so this polls until a fresh one shows the backlog.
    const metrics = await waitUntil(
      'a sample with the backlog',
      async () => {
        const m = await scrape(service.url);
        return m.value('webhooks_queue_waiting_jobs') >= 20 &&
          m.value('webhooks_queue_oldest_due_age_seconds') > 0 &&
          m.value('webhooks_delivery_lag_seconds', { kind: 'all' }) > 0 &&
          m.value('webhooks_endpoints_circuit', { state: 'OPEN' }) === 1
          ? m
          : null;
      },
      15_000,
    );
    expect(metrics.value('webhooks_endpoints_circuit', { state: 'CLOSED' })).toBeGreaterThanOrEqual(3);
    expect(metrics.value('webhooks_breaker_transitions_total', { state: 'OPEN' })).toBe(1);
    expect(metrics.value('webhooks_metrics_sample_errors_total')).toBe(0);
    // Cancel the slow backlog and the open endpoint; inactive counts paused endpoints.
    await service.client().data(`mutation($id: ID!) { deleteEndpoint(id: $id) { deletedEndpointId } }`, { id: slow.id });
    await service.client().data(`mutation($id: ID!) { pauseEndpoint(id: $id) { id } }`, { id: opening.id });
    await waitUntil('the paused endpoint counted', async () => (await scrape(service.url)).value('webhooks_endpoints_inactive') === 1, 15_000);
  }, 40_000);

  it('reports the database down (webhooks_database_up 0) while it refuses connections, and up after', async () => {
    const admin = postgres(inject('adminDatabaseUrl'), { max: 1, onnotice: () => {} });
    const name = service.testDatabase.name;
    try {
      await admin.unsafe(`ALTER DATABASE "${name}" ALLOW_CONNECTIONS false`);
      await admin`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = ${name}`;
      await waitUntil('database_up 0', async () => (await scrape(service.url)).value('webhooks_database_up') === 0, 20_000);
    } finally {
      await admin.unsafe(`ALTER DATABASE "${name}" ALLOW_CONNECTIONS true`);
      await admin.end();
    }
    await waitUntil('database_up 1', async () => (await scrape(service.url)).value('webhooks_database_up') === 1, 30_000);
  }, 60_000);
});
