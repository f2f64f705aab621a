/**
 * deliveryStats on a large attempts table: `DATABASE_URL=postgres://... npx tsx bench/deliveryStats.ts [--rows 1000000] [--keep]`.
 * Creates a scratch database, writes `rows` attempts for one endpoint over 7 days plus as many
 * for 99 other endpoints, vacuums (as autovacuum would), then times the bucket query for a few
 * windows and prints its plan node. Prints one JSON line; drops the database at the end
 * (unless --keep).
 */
import { openPostgres } from '../server/db/client.js';
import { connectDatabase, runMigrations } from '../server/db/client.js';
import { createStatsRepo, type StatsQuery } from '../server/db/repos/stats.js';
import { createHistoryMaintenance } from '../server/engine/history.js';
import { createLogger } from '../server/logger.js';

const adminUrl = process.env.DATABASE_URL;
if (!adminUrl) throw new Error('DATABASE_URL (a server to create a scratch database on) is required');
const rowsArg = process.argv.indexOf('--rows');
const rows = rowsArg > 0 ? Number(process.argv[rowsArg + 1]) : 1_000_000;
const name = `wh_bench_stats_${Date.now()}`;

const admin = openPostgres(adminUrl, { max: 1, onnotice: () => {} });
await admin.unsafe(`CREATE DATABASE "${name}"`);
const url = new URL(adminUrl);
url.pathname = `/${name}`;
const database = connectDatabase({ url: url.toString(), poolSize: 4 });
try {
  await runMigrations(database);
  const sql = database.sql;
  const endMs = Date.UTC(2026, 10, 1);
  const spanMs = 7 * 86_400_000;
  const t0 = performance.now();
  // The day partitions of the window (history is partitioned by day; see docs/operations.md).
  const history = createHistoryMaintenance({ sql, probeSql: () => sql, log: createLogger('silent'), historyRetentionDays: 90 });
  for (let day = endMs - spanMs; day <= endMs; day += 4 * 86_400_000) await history.ensurePartitions(day);
  // Target endpoint: `rows` attempts over 7 days; 10% failures; durations skewed like real ones.
  // Each id carries its start time, as the dispatcher makes them (deliveryStats reads by id).
  for (const [endpoint, count, tag] of [['ep_target', rows, 1], ['ep_other', rows, 2]] as const) {
    const chunk = 250_000;
    for (let offset = 0; offset < count; offset += chunk) {
      await sql`
        INSERT INTO delivery_attempts (id, org_id, delivery_id, endpoint_id, event_type, attempt_number, trigger, started_at,
                                       duration_ms, succeeded, request_headers, error_class)
        SELECT left(webhooks_id_bound('att', ms), 14) || ${tag}::text || lpad(g::text, 15, '0'), 'org_bench', 'dlv_' || g,
               CASE WHEN ${endpoint} = 'ep_target' THEN 'ep_target' ELSE 'ep_other_' || (g % 99) END,
               'pipeline.run.failed', 1, 'SCHEDULED', to_timestamp(ms / 1000.0),
               (5 + 200 * power(random(), 4))::int, g % 10 <> 0, '{}'::jsonb,
               CASE WHEN g % 10 = 0 THEN 'TIMEOUT'::error_class END
        FROM generate_series(${offset}::bigint, ${Math.min(count, offset + chunk) - 1}::bigint) AS g,
             LATERAL (SELECT ${endMs - spanMs}::bigint + (g * ${spanMs}::bigint) / ${count}::bigint AS ms) t`;
    }
  }
  const insertMs = performance.now() - t0;
  await sql`VACUUM (ANALYZE) delivery_attempts`;
  const repo = createStatsRepo(sql);
  const windows: { label: string; q: StatsQuery }[] = [
    { label: '7 days / 1 h buckets', q: { endpointId: 'ep_target', since: new Date(endMs - spanMs), until: new Date(endMs), bucketSeconds: 3600 } },
    { label: '1 day / 60 s buckets', q: { endpointId: 'ep_target', since: new Date(endMs - 86_400_000), until: new Date(endMs), bucketSeconds: 60 } },
    { label: '1 hour / 10 s buckets', q: { endpointId: 'ep_target', since: new Date(endMs - 3_600_000), until: new Date(endMs), bucketSeconds: 10 } },
  ];
  const results = [];
  for (const w of windows) {
    await repo.buckets(w.q); // warm the cache: measure the query, not the first disk read
    const times: number[] = [];
    for (let i = 0; i < 5; i++) {
      const start = performance.now();
      await repo.buckets(w.q);
      times.push(performance.now() - start);
    }
    const plan = ((await repo.explainBuckets(w.q)) as { Plan: PlanNode; 'Execution Time': number }[])[0]!;
    const scans = findScans(plan.Plan);
    results.push({
      window: w.label,
      partitions: scans.length,
      rowsRead: scans.reduce((n, scan) => n + (scan['Actual Rows'] ?? 0) * (scan['Actual Loops'] ?? 1), 0),
      nodes: [...new Set(scans.map((scan) => scan['Node Type']))],
      heapFetches: scans.reduce((n, scan) => n + (scan['Heap Fetches'] ?? 0), 0),
      medianMs: Math.round(times.sort((a, b) => a - b)[2]! * 10) / 10,
      explainExecutionMs: Math.round(plan['Execution Time'] * 10) / 10,
    });
  }
  process.stdout.write(`${JSON.stringify({ attemptRows: rows * 2, targetEndpointRows: rows, insertSeconds: Math.round(insertMs / 100) / 10, results })}\n`);
} finally {
  await database.close();
  if (process.argv.includes('--keep')) process.stderr.write(`kept database ${name}\n`);
  else await admin.unsafe(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  await admin.end();
}

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  'Actual Rows'?: number;
  'Actual Loops'?: number;
  'Heap Fetches'?: number;
  Plans?: PlanNode[];
}

/** The scans of delivery_attempts' partitions in a plan. */
function findScans(node: PlanNode): PlanNode[] {
  if (node['Relation Name']?.startsWith('delivery_attempts')) return [node];
  return (node.Plans ?? []).flatMap(findScans);
}
