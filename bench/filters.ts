/**
 * `npx tsx bench/filters.ts [--quick] [--endpoints N]`: what content filters cost publishing.
 *
 * One organization with N endpoints (1,000 by default) subscribed to the published type, each
 * carrying a filter (or none), and the publish path (`engine/publish.ts`, in process, two calls
 * in flight, batches of 10 1 KiB events) as fast as it goes. Rows:
 * - `no match (pattern)`: the endpoints subscribe to another type; the floor (lookup, no filter);
 * - `filter false`: every endpoint's filter is evaluated and is false: the pure filter cost;
 * - `filter 1% true`: as above, ten endpoints match: ten deliveries per event;
 * - `filter hits its budget`: every filter runs a macro over a 2,000-element list in the payload
 *   and stops at its iteration budget: the worst a filter can cost;
 * - `no filter (all match)`: for scale, every endpoint gets every event (1,000 deliveries/event).
 * Endpoints are written straight to the database without delivery queues: deliveries that match
 * are written CANCELLED by the same publish statement, so the figures are publishing's alone.
 * Prints a table and one JSON line. The machine it runs on matters (docs/benchmarks.md).
 */
import PgBoss from 'pg-boss';
import { connectDatabase, runMigrations } from '../server/db/client.js';
import { createEventTypesRepo } from '../server/db/repos/eventTypes.js';
import { createWakeSender } from '../server/db/notifications.js';
import { createDeliveryJobs } from '../server/db/repos/deliveryJobs.js';
import { createPublisher } from '../server/engine/publish.js';
import { createEndpointFilters } from '../server/engine/filters/endpointFilters.js';
import { newId } from '../server/crypto/random.js';
import { createBenchDatabase, DEFAULT_ADMIN_URL } from './lib/database.js';
import { payloadOf } from './lib/payload.js';
import { printTable, round } from './lib/stats.js';

const quick = process.argv.includes('--quick');
const endpointsArg = process.argv.indexOf('--endpoints');
const ENDPOINTS = endpointsArg > 0 ? Number(process.argv[endpointsArg + 1]) : 1000;
const WINDOW_MS = quick ? 3_000 : 15_000;
const WARMUP_MS = quick ? 500 : 2_000;
const BATCH = 10;
const CONCURRENCY = 2;

interface Row {
  label: string;
  eventsPerSecond: number;
  deliveriesPerEvent: number;
  filterErrors: number;
}

const log = (line: string) => process.stderr.write(`[bench filters] ${line}\n`);

async function main(): Promise<void> {
  const bench = await createBenchDatabase(process.env.DATABASE_URL ?? DEFAULT_ADMIN_URL);
  const database = connectDatabase({ url: bench.url, poolSize: 4, applicationName: 'bench-filters' });
  try {
    await runMigrations(database);
    // pg-boss's schema (the publish statement joins its queue table).
    const boss = new PgBoss({ connectionString: bench.url, max: 1, supervise: false, schedule: false });
    await boss.start();
    await boss.stop({ graceful: false, close: true, wait: true });
    await createEventTypesRepo(database.db).seedBuiltIns(() => newId('eventType'));
    const orgId = newId('organization');
    await database.sql`INSERT INTO organizations (id, name) VALUES (${orgId}, 'bench-filters')`;
    const ids = Array.from({ length: ENDPOINTS }, () => newId('endpoint'));
    await database.sql`INSERT INTO endpoints (id, org_id, url) SELECT unnest(${ids}::text[]), ${orgId}, 'https://bench.invalid/hook'`;
    const sql = database.sql;
    const filters = createEndpointFilters({ sql, flushIntervalMs: 1_000 });
    const publisher = createPublisher({
      database,
      jobs: createDeliveryJobs(sql),
      wake: createWakeSender(database.signalSql, () => {}),
      filters,
    });
    const base = payloadOf(1024);

    async function setup(pattern: string, filter: (i: number) => string | null): Promise<void> {
      await sql`DELETE FROM event_subscriptions WHERE endpoint_id = ANY(${ids}::text[])`;
      await sql`INSERT INTO event_subscriptions (endpoint_id, pattern) SELECT unnest(${ids}::text[]), ${pattern}`;
      const values = ids.map((_, i) => filter(i));
      await sql`UPDATE endpoints e SET filter = x.f, filter_error_count = 0 FROM unnest(${ids}::text[], ${values}::text[]) AS x(id, f) WHERE e.id = x.id`;
    }

    async function measure(label: string, data: Record<string, unknown>): Promise<Row> {
      let events = 0;
      let measuring = false;
      const publishedBefore = Number((await sql<{ n: string }[]>`SELECT count(*) AS n FROM events`)[0]!.n);
      const rowsBefore = Number((await sql<{ n: string }[]>`SELECT count(*) AS n FROM deliveries`)[0]!.n);
      const started = Date.now();
      let measuredFrom = 0;
      const loop = async () => {
        while (Date.now() - started < WARMUP_MS + WINDOW_MS) {
          if (!measuring && Date.now() - started >= WARMUP_MS) {
            measuring = true;
            measuredFrom = Date.now();
          }
          const counting = measuring;
          const outcomes = await publisher.publish(orgId, Array.from({ length: BATCH }, () => ({ type: 'pipeline.run.failed', data })));
          if (counting) events += outcomes.length;
        }
      };
      await Promise.all(Array.from({ length: CONCURRENCY }, loop));
      const seconds = (Date.now() - measuredFrom) / 1000;
      // Delivery rows written (CANCELLED: these endpoints have no queue), over every event published.
      const deliveries = Number((await sql<{ n: string }[]>`SELECT count(*) AS n FROM deliveries`)[0]!.n) - rowsBefore;
      const published = Number((await sql<{ n: string }[]>`SELECT count(*) AS n FROM events`)[0]!.n);
      await filters.flush();
      const [errors] = await sql<{ n: string }[]>`SELECT coalesce(sum(filter_error_count), 0) AS n FROM endpoints WHERE org_id = ${orgId}`;
      const row = { label, eventsPerSecond: events / seconds, deliveriesPerEvent: deliveries / Math.max(1, published - publishedBefore), filterErrors: Number(errors!.n) };
      log(`${label}: ${round(row.eventsPerSecond, 0)} events/s`);
      return row;
    }

    const rows: Row[] = [];
    await setup('security.*', () => null);
    rows.push(await measure('no match (pattern)', base));
    await setup('pipeline.run.failed', () => 'data.severity == "high" && data.pipeline.startsWith("prod-")');
    rows.push(await measure('filter false', { ...base, severity: 'low', pipeline: 'prod-etl' }));
    await setup('pipeline.run.failed', (i) => `data.severity == "high" && data.shard == ${i % 100}`);
    rows.push(await measure('filter 1% true', { ...base, severity: 'high', shard: 7 }));
    await setup('pipeline.run.failed', () => 'data.items.exists(x, x == -1)');
    rows.push(await measure('filter hits its budget', { ...base, items: Array.from({ length: 2000 }, (_, i) => i) }));
    await setup('pipeline.run.failed', () => null);
    rows.push(await measure('no filter (all match)', base));

    printTable(
      `Publishing with ${ENDPOINTS} endpoints: batches of ${BATCH} × 1 KiB events, ${CONCURRENCY} calls in flight, ${WINDOW_MS / 1000} s each (${quick ? 'quick' : 'full'})`,
      ['case', 'events/s', 'deliveries/event', 'filter errors'],
      rows.map((r) => [r.label, round(r.eventsPerSecond, 0), round(r.deliveriesPerEvent, 1), r.filterErrors]),
    );
    const byLabel = Object.fromEntries(rows.map((r) => [r.label, round(r.eventsPerSecond, 0)]));
    process.stdout.write(
      `${JSON.stringify({
        endpoints: ENDPOINTS,
        noMatchEventsPerSecond: byLabel['no match (pattern)'],
        filterFalseEventsPerSecond: byLabel['filter false'],
        filterOnePercentEventsPerSecond: byLabel['filter 1% true'],
        filterBudgetEventsPerSecond: byLabel['filter hits its budget'],
        noFilterAllMatchEventsPerSecond: byLabel['no filter (all match)'],
      })}\n`,
    );
    await filters.stop();
  } finally {
    await database.close();
    await bench.drop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
