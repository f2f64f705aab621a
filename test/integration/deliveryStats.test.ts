/**
 * deliveryStats: buckets that add up to the attempts made, percentiles as Postgres's
 * percentile_cont computes them, argument validation, the organization boundary, and the plan
 * (an index-only scan of attempts_endpoint_stats_idx).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestService, type TestService } from '../helpers/service.js';
import { startReceiver, type Receiver } from '../helpers/receiver.js';
import { createEndpoint, publish, waitForDeliveries } from '../helpers/flows.js';
import { graphqlClient } from '../helpers/graphql.js';
import { createStatsRepo } from '../../server/db/repos/stats.js';
import { newId } from '../../server/crypto/random.js';

const STATS = `query($endpointId: ID!, $since: DateTime!, $until: DateTime, $bucketSeconds: Int!) {
  deliveryStats(endpointId: $endpointId, since: $since, until: $until, bucketSeconds: $bucketSeconds) {
    start end succeeded failed total p50 p95 p99 failuresByErrorClass { errorClass count }
  }
}`;

let service: TestService;
let receiver: Receiver;

/** percentile_cont: linear interpolation between the closest ranks. */
function percentileCont(sorted: number[], p: number): number {
  const rank = p * (sorted.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (rank - lo);
}

/**
 * Inserts synthetic attempts for `endpointId` straight into the table, each id made at its start
 * time as the dispatcher makes them (deliveryStats reads its windows by id).
 */
async function insertAttempts(endpointId: string, rows: { startedAtMs: number; durationMs: number; succeeded: boolean; errorClass?: string }[]) {
  const records = rows.map((r) => ({
    id: newId('attempt', r.startedAtMs),
    started_at: new Date(r.startedAtMs).toISOString(),
    duration_ms: r.durationMs,
    succeeded: r.succeeded,
    error_class: r.errorClass ?? null,
  }));
  await service.database.sql`
    INSERT INTO delivery_attempts (id, org_id, delivery_id, endpoint_id, event_type, attempt_number, trigger, started_at,
                                   duration_ms, succeeded, request_headers, error_class)
    SELECT x.id, ${service.orgId}, 'dlv_synthetic', ${endpointId}, 'pipeline.run.failed', 1,
           'SCHEDULED', x.started_at, x.duration_ms, x.succeeded, '{}'::jsonb, x.error_class::error_class
    FROM jsonb_to_recordset(${service.database.sql.json(records)}) AS x(id text, started_at timestamptz, duration_ms int, succeeded bool, error_class text)`;
}

beforeAll(async () => {
  service = await startTestService();
  receiver = await startReceiver({ respond: (req) => (/"fail":\s*true/.test(req.rawBody) ? { status: 503 } : { status: 204 }) });
});

afterAll(async () => {
  await service?.close();
  await receiver?.close();
});

describe('deliveryStats', () => {
  it('has buckets that add up to the attempts made', async () => {
    const since = new Date(Date.now() - 10 * 60_000);
    const endpoint = await createEndpoint(service.client(), {
      url: `${receiver.url}/stats`,
      patterns: ['pipeline.run.*'],
      retryPolicy: { maxAttempts: 1 },
      circuitBreaker: { enabled: false },
    });
    const published = [];
    for (let i = 0; i < 12; i++) published.push(await publish(service.client(), { type: 'pipeline.run.started', data: { i, fail: i % 3 === 0 } }));
    for (const p of published) await waitForDeliveries(service, p.event.id, ['SUCCEEDED', 'DEAD']);

    const buckets = (await service.client().data(STATS, { endpointId: endpoint.id, since: since.toISOString(), bucketSeconds: 60 })).deliveryStats;
    // Ten minutes and a bit: 11 buckets, the first starting at `since`, the last ending now.
    expect(buckets).toHaveLength(11);
    expect(buckets[0].start).toBe(since.toISOString());
    expect(new Date(buckets[1].start).getTime() - since.getTime()).toBe(60_000);
    const sum = (key: string) => buckets.reduce((n: number, b: any) => n + b[key], 0);
    expect([sum('total'), sum('succeeded'), sum('failed')]).toEqual([12, 8, 4]);
    const failures = buckets.flatMap((b: any) => b.failuresByErrorClass);
    expect(failures).toEqual([{ errorClass: 'HTTP_STATUS', count: 4 }]);
    const full = buckets.filter((b: any) => b.total > 0);
    expect(full.length).toBeGreaterThanOrEqual(1);
    for (const b of full) expect(b.p50).toBeGreaterThanOrEqual(0);
    for (const b of buckets.filter((x: any) => x.total === 0)) expect([b.p50, b.p95, b.p99]).toEqual([null, null, null]);

    // A viewer may read stats too.
    const viewerKey = (await service.client().data(`mutation { createApiKey(role: VIEWER, name: "stats viewer") { key } }`)).createApiKey.key;
    const asViewer = await graphqlClient(`${service.url}/graphql`, viewerKey).data(STATS, { endpointId: endpoint.id, since: since.toISOString(), bucketSeconds: 3600 });
    expect(asViewer.deliveryStats[0].total).toBe(12);
  });

  it('computes counts and percentiles per bucket like percentile_cont, with partial and empty buckets', async () => {
    const endpoint = await createEndpoint(service.client(), { url: `${receiver.url}/synthetic`, patterns: ['webhook.test'] });
    const base = Date.UTC(2026, 0, 5, 12, 0, 0);
    const rows = [];
    // Bucket 0 [12:00, 12:01): 100 attempts, 10 failed; bucket 1 empty; bucket 2 three attempts; 12:03:30 is outside `until`.
    for (let i = 0; i < 100; i++) rows.push({ startedAtMs: base + i * 500, durationMs: (i * 37) % 1000, succeeded: i % 10 !== 0, errorClass: i % 10 !== 0 ? undefined : i % 20 ? 'TIMEOUT' : 'CONNECTION' });
    for (const d of [5, 50, 500]) rows.push({ startedAtMs: base + 120_000 + d, durationMs: d, succeeded: true });
    rows.push({ startedAtMs: base + 210_000, durationMs: 1, succeeded: true });
    rows.push({ startedAtMs: base - 1, durationMs: 1, succeeded: true });
    await insertAttempts(endpoint.id, rows);

    const until = new Date(base + 150_000);
    const buckets = (await service.client().data(STATS, { endpointId: endpoint.id, since: new Date(base).toISOString(), until: until.toISOString(), bucketSeconds: 60 }))
      .deliveryStats;
    expect(buckets.map((b: any) => [b.start, b.end, b.total, b.succeeded, b.failed])).toEqual([
      [new Date(base).toISOString(), new Date(base + 60_000).toISOString(), 100, 90, 10],
      [new Date(base + 60_000).toISOString(), new Date(base + 120_000).toISOString(), 0, 0, 0],
      [new Date(base + 120_000).toISOString(), until.toISOString(), 3, 3, 0],
    ]);
    const first = rows.slice(0, 100).map((r) => r.durationMs).sort((a, b) => a - b);
    expect(buckets[0].p50).toBeCloseTo(percentileCont(first, 0.5), 6);
    expect(buckets[0].p95).toBeCloseTo(percentileCont(first, 0.95), 6);
    expect(buckets[0].p99).toBeCloseTo(percentileCont(first, 0.99), 6);
    expect([buckets[2].p50, buckets[2].p95]).toEqual([50, percentileCont([5, 50, 500], 0.95)]);
    // In the ErrorClass enum's order.
    expect(buckets[0].failuresByErrorClass).toEqual([
      { errorClass: 'TIMEOUT', count: 5 },
      { errorClass: 'CONNECTION', count: 5 },
    ]);
  });

  it.each([
    ['a bucket under 10 s', { bucketSeconds: 5 }, 'bucketSeconds', /10 to 86400/],
    ['a bucket over a day', { bucketSeconds: 86_401 }, 'bucketSeconds', /10 to 86400/],
    ['since after until', { since: '2026-01-02T00:00:00Z', until: '2026-01-01T00:00:00Z' }, 'since', /before "until"/],
    ['since equal to until', { since: '2026-01-01T00:00:00Z', until: '2026-01-01T00:00:00Z' }, 'since', /before "until"/],
    ['since in the future without until', { since: '2999-01-01T00:00:00Z' }, 'since', /in the past/],
    ['more than 2,000 buckets', { since: '2026-01-01T00:00:00Z', until: '2026-01-02T00:00:00Z', bucketSeconds: 10 }, 'bucketSeconds', /8640 buckets.*at least 44/],
  ])('answers BAD_USER_INPUT for %s', async (_what, args, field, message) => {
    const endpoint = await createEndpoint(service.client(), { url: `${receiver.url}/bad`, patterns: [] });
    const error = await service.client().error(STATS, { endpointId: endpoint.id, since: '2026-01-01T00:00:00Z', bucketSeconds: 60, ...args });
    expect(error.code).toBe('BAD_USER_INPUT');
    expect(error.extensions.field).toBe(field);
    expect(error.message).toMatch(message);
  });

  it('answers NOT_FOUND for another organization\'s endpoint or a deleted one', async () => {
    const other = await service.services.organizations.createOrganization({ name: 'stats other' });
    const theirs = await createEndpoint(graphqlClient(`${service.url}/graphql`, other.apiKey), { url: `${receiver.url}/theirs`, patterns: [] });
    const args = { since: new Date(Date.now() - 3600_000).toISOString(), bucketSeconds: 600 };
    expect((await service.client().error(STATS, { endpointId: theirs.id, ...args })).code).toBe('NOT_FOUND');
    const mine = await createEndpoint(service.client(), { url: `${receiver.url}/deleted`, patterns: [] });
    await service.client().data(`mutation($id: ID!) { deleteEndpoint(id: $id) { deletedEndpointId } }`, { id: mine.id });
    expect((await service.client().error(STATS, { endpointId: mine.id, ...args })).code).toBe('NOT_FOUND');
  });

  it('reads only attempts_endpoint_stats_idx (index-only scan)', async () => {
    const endpoints = [];
    for (let e = 0; e < 10; e++) endpoints.push(await createEndpoint(service.client(), { url: `${receiver.url}/plan${e}`, patterns: [] }));
    const base = Date.UTC(2026, 1, 1);
    // That day's history partition, as maintenance would have made it then.
    await service.engine.history.ensurePartitions(base);
    for (const endpoint of endpoints) {
      await insertAttempts(
        endpoint.id,
        Array.from({ length: 5000 }, (_, i) => ({ startedAtMs: base + i * 1000, durationMs: i % 700, succeeded: i % 13 !== 0, errorClass: i % 13 ? undefined : 'TIMEOUT' })),
      );
    }
    // What autovacuum does on a live table: the visibility map lets the scan skip the heap.
    await service.database.sql`VACUUM (ANALYZE) delivery_attempts`;
    const repo = createStatsRepo(service.database.sql);
    const plan = (await repo.explainBuckets({ endpointId: endpoints[3]!.id, since: new Date(base), until: new Date(base + 3_600_000), bucketSeconds: 300 })) as any[];
    const nodes: any[] = [];
    const walk = (node: any) => {
      nodes.push(node);
      for (const child of node.Plans ?? []) walk(child);
    };
    walk(plan[0].Plan);
    // Only that day's partition is planned (the window's id range prunes the others).
    const scans = nodes.filter((n) => String(n['Relation Name'] ?? '').startsWith('delivery_attempts'));
    expect(scans.map((n) => n['Relation Name'])).toEqual(['delivery_attempts_p20260201']);
    const scan = scans[0];
    expect(scan['Node Type']).toBe('Index Only Scan');
    const [index] = await service.database.sql<{ parent: string }[]>`
      SELECT i.inhparent::regclass::text AS parent FROM pg_inherits i WHERE i.inhrelid = ${scan['Index Name']}::regclass`;
    expect(index!.parent).toBe('attempts_endpoint_stats_idx');
    expect(scan['Heap Fetches']).toBe(0);
    // One range scan per 300 s bucket, 3,600 index entries in all: only the window is read.
    expect(scan['Actual Loops']).toBe(12);
    expect(scan['Actual Rows'] * scan['Actual Loops']).toBe(3600);
  });
});
