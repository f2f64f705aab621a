/**
 * History at platform scale: synthetic history written straight into the partitioned tables
 * (bench/lib/historyData.ts; mode.history.attempts attempts over mode.history.days past days, for
 * mode.history.endpoints endpoints; BENCH_HISTORY_ATTEMPTS overrides the size), then, through the
 * public API: deliveries(filter) with every filter, first and deep pages, delivery(id) with
 * attempts and events(filter) (historyQueryP99Ms); deliveryStats over 24 hours and 7 days
 * (historyStatsP99Ms); the second throughput set delivering on top of that history, against the
 * same run on the (almost) empty database (historyThroughputRatio); and last, one day of history
 * removed by retention (historyPurgeDayMs, with the WAL it wrote).
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { statfs } from 'node:fs/promises';
import type { BenchEndpoint } from '../lib/api.js';
import type { Context, FlowMeasurement } from '../lib/context.js';
import { percentile, printTable, round } from '../lib/stats.js';
import { generateHistory, type GeneratedHistory } from '../lib/historyData.js';
import { measureSystem } from './throughput.js';
import { DAY_MS } from '../../server/domain/historyPartitions.js';
import { idLowerBound } from '../../server/domain/ids.js';
import { createHistoryMaintenance, type HistoryRunSummary } from '../../server/engine/history.js';
import { createHistoryPartitionsRepo, type HistoryTableSize } from '../../server/db/repos/historyPartitions.js';
import { createLogger } from '../../server/logger.js';

export interface HistoryResult {
  generated: GeneratedHistory;
  queries: { name: string; p50: number | null; p99: number | null; max: number | null }[];
  queryP99Ms: number | null;
  statsP99Ms: number | null;
  stats: { name: string; p50: number | null; p99: number | null; max: number | null }[];
  purge: { ms: number; walBytes: number; summary: HistoryRunSummary };
  sizes: HistoryTableSize[];
  throughput: FlowMeasurement;
  /** The same run right before the history was written. */
  reference: FlowMeasurement;
  settle: { checkpointMs: number; syncMs: number };
  ratio: number;
}

const DELIVERIES = `query($filter: DeliveryFilter, $after: String) {
  deliveries(filter: $filter, first: 50, after: $after) {
    edges { node { id status eventType attemptCount lastAttemptAt createdAt endpoint { id url } } }
    pageInfo { hasNextPage endCursor }
  }
}`;
const EVENTS = `query($filter: EventFilter, $after: String) {
  events(filter: $filter, first: 50, after: $after) { edges { node { id type orderingKey createdAt } } pageInfo { hasNextPage endCursor } }
}`;
const DELIVERY = `query($id: ID!) {
  delivery(id: $id) { id status attempts { id attemptNumber startedAt durationMs responseStatus errorClass } event { id type createdAt } }
}`;
const STATS = `query($endpointId: ID!, $since: DateTime!, $bucketSeconds: Int!) {
  deliveryStats(endpointId: $endpointId, since: $since, bucketSeconds: $bucketSeconds) { start total succeeded failed p50 p95 p99 }
}`;

export async function runHistory(ctx: Context, endpoints: BenchEndpoint[], type: string, empty: FlowMeasurement): Promise<HistoryResult> {
  const mode = ctx.mode.history;
  const attempts = Number(process.env.BENCH_HISTORY_ATTEMPTS) || mode.attempts;
  const orgId = ctx.service.orgId;
  await checkDisk(ctx, attempts);
  // The reference: the same run, same timing, right before the history is written (the
  // throughput scenario's run has another window and follows other runs).
  ctx.log('history: delivering on the empty history (reference)');
  const reference = await measureSystem(ctx, type, endpoints.length, endpoints.length, mode);
  ctx.log(`history: writing ~${attempts.toLocaleString('en-US')} attempts over ${mode.days} days for ${mode.endpoints} endpoints`);
  const generated = await generateHistory(ctx.sql, { orgId, attempts, days: mode.days, endpoints: mode.endpoints, log: ctx.log });
  ctx.log(`history: written in ${generated.seconds.toFixed(0)} s (${Math.round(generated.attempts / generated.seconds).toLocaleString('en-US')} attempts/s)`);
  const settle = await settleWrites(ctx);
  ctx.log(`history: checkpoint ${settle.checkpointMs.toFixed(0)} ms, OS flush ${settle.syncMs.toFixed(0)} ms`);

  // Cursors and ids from the middle of the history (deep pages, old rows).
  const midMs = generated.firstDayMs + (generated.days * DAY_MS) / 2;
  const one = async (table: string, kind: 'delivery' | 'event', ms: number) =>
    // The first id at or after `ms`: each generated day ends with a gap of a few minutes, so a
    // one-minute window there found nothing (1 run in ~10 at 1,000,000 attempts).
    (await ctx.sql.unsafe<{ id: string }[]>(`SELECT id FROM ${table} WHERE id >= $1 ORDER BY id LIMIT 1`, [idLowerBound(kind, ms)]))[0]!.id;
  const random = <T>(list: T[]) => list[Math.floor(Math.random() * list.length)]!;
  const samples = new Map<string, number[]>();
  const time = async (name: string, query: string, variables: Record<string, unknown>, measured: boolean) => {
    const t0 = performance.now();
    await ctx.api.data(query, variables);
    const ms = performance.now() - t0;
    if (measured) samples.set(name, [...(samples.get(name) ?? []), ms]);
  };
  const round_ = async (measured: boolean) => {
    const endpointId = random(generated.endpointIds);
    const at = midMs + (Math.random() - 0.5) * DAY_MS;
    const deep = await one('deliveries', 'delivery', at);
    const deepEvent = await one('events', 'event', at);
    const d = async (name: string, filter: Record<string, unknown>, after: string | null = null) => time(name, DELIVERIES, { filter, after }, measured);
    const e = async (name: string, filter: Record<string, unknown>, after: string | null = null) => time(name, EVENTS, { filter, after }, measured);
    await d('deliveries, first page', {});
    await d('deliveries, deep page', {}, deep);
    await d('deliveries by endpoint', { endpointId });
    await d('deliveries by endpoint, deep page', { endpointId }, deep);
    await d('dead letters', { statuses: ['DEAD'] });
    await d('dead letters, deep page', { statuses: ['DEAD'] }, deep);
    await d('dead letters of an endpoint', { endpointId, statuses: ['DEAD'] });
    await d('deliveries by event type', { eventType: `bench.history.${Math.floor(Math.random() * 10)}` });
    await d('deliveries by event type, deep page', { eventType: 'bench.history.3' }, deep);
    await d('deliveries of the last hour', { since: new Date(Date.now() - 3_600_000).toISOString() });
    await d('deliveries in an old hour', { since: new Date(at).toISOString(), until: new Date(at + 3_600_000).toISOString() });
    await d('deliveries of an event', { eventId: deepEvent });
    await time('delivery(id) with attempts', DELIVERY, { id: deep }, measured);
    await e('events, first page', {});
    await e('events, deep page', {}, deepEvent);
    await e('events by type', { type: 'bench.history.7' });
    await e('events by ordering key', { orderingKey: `run-${Math.floor(Math.random() * 5000)}` });
    await time('stats 24 h', STATS, { endpointId, since: new Date(Date.now() - DAY_MS).toISOString(), bucketSeconds: 3600 }, measured);
    await time('stats 7 d', STATS, { endpointId, since: new Date(Date.now() - 7 * DAY_MS).toISOString(), bucketSeconds: 3600 }, measured);
  };
  await round_(false);
  for (let r = 0; r < mode.rounds; r++) await round_(true);
  const isStats = (name: string) => name.startsWith('stats');
  const summarize = (names: string[]) =>
    names.map((name) => ({ name, p50: percentile(samples.get(name)!, 0.5), p99: percentile(samples.get(name)!, 0.99), max: percentile(samples.get(name)!, 1) }));
  const all = (pick: (n: string) => boolean) => [...samples].filter(([n]) => pick(n)).flatMap(([, v]) => v);

  ctx.log('history: delivering on top of it');
  const throughput = await measureSystem(ctx, type, endpoints.length, endpoints.length, mode);

  // Retention: the oldest day's deliveries and attempts go first (events a day later), so one run
  // takes them out of the way; the next removes one whole day of every table, as each day does.
  const maintenance = createHistoryMaintenance({ sql: ctx.sql, probeSql: () => ctx.sql, log: createLogger('silent'), historyRetentionDays: 90 });
  const purgeAt = (day: number) => generated.firstDayMs + (90 + day) * DAY_MS + 60_000;
  await maintenance.dropExpired(purgeAt(1));
  const sizes = await createHistoryPartitionsRepo(ctx.sql).sizes();
  const before = (await ctx.sql<{ lsn: string }[]>`SELECT pg_current_wal_lsn()::text AS lsn`)[0]!.lsn;
  const t0 = performance.now();
  const summary = await maintenance.dropExpired(purgeAt(2));
  const ms = performance.now() - t0;
  const bytes = (await ctx.sql<{ bytes: string }[]>`SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), ${before}::pg_lsn)::text AS bytes`)[0]!.bytes;

  return {
    generated,
    queries: summarize([...samples.keys()].filter((n) => !isStats(n))),
    queryP99Ms: percentile(all((n) => !isStats(n)), 0.99),
    stats: summarize([...samples.keys()].filter(isStats)),
    statsP99Ms: percentile(all(isStats), 0.99),
    purge: { ms, walBytes: Number(bytes), summary },
    sizes,
    throughput,
    reference,
    settle,
    ratio: throughput.rate / reference.rate,
  };
}

/**
 * Writing the history leaves gigabytes the checkpointer and the kernel are still flushing; a run
 * measured in that stall measures the disk catching up, not the history. A checkpoint and an
 * OS-wide flush (the data directory is on this machine in the bench) finish that first, as a
 * history built over days would have.
 */
async function settleWrites(ctx: Context): Promise<{ checkpointMs: number; syncMs: number }> {
  const t0 = performance.now();
  await ctx.sql`CHECKPOINT`;
  const t1 = performance.now();
  await new Promise<void>((resolve) => execFile('sync', () => resolve()));
  return { checkpointMs: t1 - t0, syncMs: performance.now() - t1 };
}

/**
 * Bytes of history per attempt written, indexes included, measured at 3,000,000 attempts (1 KiB
 * payloads, 3 deliveries per event, 15 attempts per 13 deliveries): 1,758 MiB of attempts,
 * 1,032 MiB of deliveries and 1,449 MiB of events per ~2,000,000 attempts.
 */
export const HISTORY_BYTES_PER_ATTEMPT = 2_100;

/**
 * Refuses to start when the Postgres data directory (when it is on this machine) has less room
 * than the history needs, with a margin for the WAL and index builds: a full disk stops Postgres
 * for every database on it.
 */
async function checkDisk(ctx: Context, attempts: number): Promise<void> {
  const [row] = await ctx.sql<{ dir: string }[]>`SELECT current_setting('data_directory', true) AS dir`;
  if (!row?.dir || !existsSync(row.dir)) return;
  const stats = await statfs(row.dir);
  const free = stats.bavail * stats.bsize;
  const need = attempts * HISTORY_BYTES_PER_ATTEMPT * 1.3;
  if (free < need) {
    throw new Error(
      `history: ${attempts.toLocaleString('en-US')} attempts need ~${(need / 2 ** 30).toFixed(0)} GiB free on the Postgres data disk (${row.dir}), ${(free / 2 ** 30).toFixed(0)} GiB are: set BENCH_HISTORY_ATTEMPTS lower`,
    );
  }
}

/** The scenario's tables, and its keys of the final JSON line. */
export function reportHistory(r: HistoryResult, empty: FlowMeasurement): Record<string, number | null> {
  const g = r.generated;
  printTable(
    `History: ${g.attempts.toLocaleString('en-US')} attempts, ${g.deliveries.toLocaleString('en-US')} deliveries, ${g.events.toLocaleString('en-US')} events over ${g.days} day partitions, ${g.endpointIds.length} endpoints (API, 50 per page)`,
    ['query', 'p50 ms', 'p99 ms', 'max ms'],
    [...r.queries, ...r.stats].map((q) => [q.name, q.p50, q.p99, q.max]),
    [
      `written in ${g.seconds.toFixed(0)} s (${Math.round(g.attempts / g.seconds).toLocaleString('en-US')} attempts/s, set-based SQL), then VACUUM ANALYZE.`,
      `historyQueryP99Ms = p99 of every list/delivery sample above, historyStatsP99Ms of both deliveryStats windows.`,
      ...r.sizes.map((s) => `${s.table}: ${(s.bytes / 2 ** 20).toFixed(0)} MiB in ${s.partitions} partitions, ~${Math.round(s.rows).toLocaleString('en-US')} rows (${s.rows ? Math.round(s.bytes / s.rows) : '—'} bytes/row with indexes)`),
    ],
  );
  printTable(
    'History: retention removing one day (deliveries and attempts of a day, events of the day before, their idempotency keys)',
    ['ms', 'WAL bytes', 'partitions dropped', 'rows carried over', 'keys deleted', 'postponed'],
    [[r.purge.ms, r.purge.walBytes, r.purge.summary.dropped.length, r.purge.summary.carried, r.purge.summary.idempotencyKeys, r.purge.summary.postponed.length]],
    [
      `dropped: ${r.purge.summary.dropped.join(', ')}`,
      `time by step (ms): ${Object.entries(r.purge.summary.phaseMs).map(([k, v]) => `${k} ${v.toFixed(0)}`).join(', ')}`,
    ],
  );
  printTable(
    'History: delivery throughput with that history present',
    ['run', 'deliveries/s', 'slowest s', 'worker CPU%', 'pg CPU%', 'pg CPU ms/delivery', 'WAL bytes/delivery', 'FPI per 1,000'],
    [
      ['throughput scenario (other window, for comparison)', empty.rate, empty.minSecond, empty.cpu.worker, empty.cpu.postgres, empty.cpuMsPerDelivery.postgres, empty.walBytesPerDelivery, empty.walFullPageImagesPerThousand],
      ['right before the history (reference)', r.reference.rate, r.reference.minSecond, r.reference.cpu.worker, r.reference.cpu.postgres, r.reference.cpuMsPerDelivery.postgres, r.reference.walBytesPerDelivery, r.reference.walFullPageImagesPerThousand],
      ['with the history', r.throughput.rate, r.throughput.minSecond, r.throughput.cpu.worker, r.throughput.cpu.postgres, r.throughput.cpuMsPerDelivery.postgres, r.throughput.walBytesPerDelivery, r.throughput.walFullPageImagesPerThousand],
      ['ratio (with ÷ reference)', r.ratio, null, null, null, null, null, null],
    ],
    [`after writing: CHECKPOINT ${r.settle.checkpointMs.toFixed(0)} ms, OS flush (sync) ${r.settle.syncMs.toFixed(0)} ms, before the query rounds`],
  );
  return {
    historyQueryP99Ms: round(r.queryP99Ms, 1),
    historyStatsP99Ms: round(r.statsP99Ms, 1),
    historyPurgeDayMs: round(r.purge.ms, 0),
    historyThroughputRatio: round(r.ratio, 3),
  };
}
