/**
 * Latency at a steady 1,000 events/s: an open-loop generator publishes small batches on a fixed
 * schedule (never waiting for answers), each event to one endpoint (endpoint i subscribes to
 * `bench.lat<i>`, events cycle through the types). publish→receipt = first arrival of the
 * event's webhook-id at the receiver − the time its publish call was scheduled. At the same time
 * a graphql-ws client subscribed to `deliveryAttempts` measures attempt recorded → live message.
 */
import { pgBackendPids, sleep, type Context } from '../lib/context.js';
import { meterGroups } from '../lib/procStats.js';
import { nowMs } from '../lib/ipc.js';
import type { Mode } from '../lib/modes.js';
import { percentile, printTable, round } from '../lib/stats.js';

export interface LatencyResult {
  ratePerSecond: number;
  events: number;
  received: number;
  missing: number;
  p50: number | null;
  p90: number | null;
  p99: number | null;
  max: number | null;
  /** The two parts of publish → receipt: the publish call itself, then accepted → receipt. */
  publishCall: { p50: number | null; p99: number | null };
  afterAccept: { p50: number | null; p99: number | null };
  late: number;
  publishErrors: number;
  live: {
    messages: number;
    p50: number | null;
    p99: number | null;
    max: number | null;
    /** recorded → a plain LISTEN got the notification, and from there → the GraphQL message. */
    toNotification: { p50: number | null; p99: number | null };
    afterNotification: { p50: number | null; p99: number | null };
    errors: string[];
    via: string;
    /** Everything the subscriber got, in the window or not, and the recorded times it spans (ms from the window's start). */
    seen: { messages: number; notifications: number; firstRecordedMs: number | null; lastRecordedMs: number | null; windowMs: number };
  };
  /** What Postgres did in the background during the window (the tail's usual suspects). */
  background: { autovacuumTables: string[]; autovacuumSamples: number; samples: number; checkpoints: number };
  /** CPU % of one core over the window: worker process(es), api-only process(es), Postgres. */
  cpu: { worker: number; api: number; postgres: number };
}

export async function runLatency(ctx: Context, types: string[]): Promise<LatencyResult> {
  const { ratePerSecond, batchEvents, warmupMs, windowMs } = ctx.mode.latency;
  await ctx.subscriber.call('start', { apiUrl: ctx.service.apiUrl, apiKey: ctx.service.adminKey, databaseUrl: ctx.db.url });
  await ctx.receiver.call('track', true);
  const windowStart = nowMs() + warmupMs;
  await ctx.loadgen.call('openStart', { types, ratePerSecond, batchEvents, track: true });
  await sleep(warmupMs);
  const groups = {
    worker: ctx.service.workerPids(),
    api: ctx.service.apiOnlyPids(),
    postgres: await pgBackendPids(ctx),
  };
  const meters = meterGroups(groups);
  const background = await sampleBackground(ctx, windowMs);
  const cpu = meters.end();
  const published = await ctx.loadgen.call<{
    scheduled: Map<string, number>;
    accepted: Map<string, number>;
    callMs: number[];
    late: number;
    errors: number;
    lastError: string | null;
  }>('openStop');
  const windowEnd = windowStart + windowMs;
  const inWindow = [...published.scheduled].filter(([, t]) => t >= windowStart && t < windowEnd);
  // Give the tail a moment to arrive.
  let receipts = new Map<string, number>();
  for (let i = 0; i < 40; i++) {
    receipts = await ctx.receiver.call<Map<string, number>>('receipts');
    if (inWindow.every(([id]) => receipts.has(id))) break;
    await sleep(100);
  }
  await ctx.receiver.call('track', false);
  const live = await ctx.subscriber.call<{
    latencies: number[];
    toNotification: number[];
    afterNotification: number[];
    messages: number;
    notifications: number;
    firstRecordedMs: number | null;
    lastRecordedMs: number | null;
    errors: string[];
  }>('stop', {
    fromMs: windowStart,
    toMs: windowEnd,
  });
  const latencies: number[] = [];
  const publishCall: number[] = [];
  const afterAccept: number[] = [];
  let missing = 0;
  for (const [id, t] of inWindow) {
    const r = receipts.get(id);
    const accepted = published.accepted.get(id)!;
    publishCall.push(accepted - t);
    if (r === undefined) missing++;
    else {
      latencies.push(r - t);
      // Negative when the delivery arrived before the publish answer did (it often does).
      afterAccept.push(r - accepted);
    }
  }
  // A lost event must not improve the percentiles: count it as infinitely late.
  for (let i = 0; i < missing; i++) latencies.push(Number.POSITIVE_INFINITY);
  return {
    ratePerSecond,
    events: inWindow.length,
    received: inWindow.length - missing,
    missing,
    p50: percentile(latencies, 0.5),
    p90: percentile(latencies, 0.9),
    p99: percentile(latencies, 0.99),
    max: latencies.length ? Math.max(...latencies) : null,
    publishCall: { p50: percentile(publishCall, 0.5), p99: percentile(publishCall, 0.99) },
    afterAccept: { p50: percentile(afterAccept, 0.5), p99: percentile(afterAccept, 0.99) },
    late: published.late,
    background,
    publishErrors: published.errors,
    cpu,
    live: {
      messages: live.latencies.length,
      p50: percentile(live.latencies, 0.5),
      p99: percentile(live.latencies, 0.99),
      max: live.latencies.length ? Math.max(...live.latencies) : null,
      toNotification: { p50: percentile(live.toNotification, 0.5), p99: percentile(live.toNotification, 0.99) },
      afterNotification: { p50: percentile(live.afterNotification, 0.5), p99: percentile(live.afterNotification, 0.99) },
      errors: live.errors,
      via: 'graphql-ws subscription deliveryAttempts with the console live table\'s document (recordedAtMs from a LISTEN on webhooks_attempts)',
      seen: {
        messages: live.messages,
        notifications: live.notifications,
        firstRecordedMs: live.firstRecordedMs === null ? null : live.firstRecordedMs - windowStart,
        lastRecordedMs: live.lastRecordedMs === null ? null : live.lastRecordedMs - windowStart,
        windowMs,
      },
    },
  };
}

/**
 * Sleeps through the window while sampling, twice a second, which autovacuum workers run on the
 * bench database, and counts the checkpoints that started meanwhile.
 */
async function sampleBackground(ctx: Context, windowMs: number): Promise<LatencyResult['background']> {
  // Postgres 17 (the embedded server) moved the counters to pg_stat_checkpointer.
  const [{ v }] = (await ctx.sql<{ v: number }[]>`SELECT current_setting('server_version_num')::int AS v`) as unknown as [{ v: number }];
  const checkpoints = async () =>
    Number(
      (
        v >= 170000
          ? await ctx.sql<{ n: string }[]>`SELECT num_timed + num_requested AS n FROM pg_stat_checkpointer`
          : await ctx.sql<{ n: string }[]>`SELECT checkpoints_timed + checkpoints_req AS n FROM pg_stat_bgwriter`
      )[0]!.n,
    );
  const before = await checkpoints();
  const tables = new Set<string>();
  let samples = 0;
  let withAutovacuum = 0;
  const end = nowMs() + windowMs;
  while (nowMs() < end) {
    const rows = await ctx.sql<{ query: string }[]>`
      SELECT query FROM pg_stat_activity WHERE backend_type = 'autovacuum worker' AND datname = current_database()`;
    samples++;
    if (rows.length) withAutovacuum++;
    for (const r of rows) tables.add(r.query.replace(/^autovacuum:\s*/, ''));
    await sleep(Math.min(500, Math.max(0, end - nowMs())));
  }
  return { autovacuumTables: [...tables], autovacuumSamples: withAutovacuum, samples, checkpoints: (await checkpoints()) - before };
}

/**
 * One line on what the live subscriber received in all: with no sample in the window it tells
 * "nothing arrived" (the stream or its LISTEN failed) from "it arrived outside the window" (the
 * worker's clock and the bench's apart, or the stream late by more than the window).
 */
export function liveSeenNote(seen: LatencyResult['live']['seen']): string {
  const span =
    seen.firstRecordedMs === null || seen.lastRecordedMs === null
      ? 'none recorded'
      : `recorded from ${(seen.firstRecordedMs / 1000).toFixed(1)} s to ${(seen.lastRecordedMs / 1000).toFixed(1)} s of the ${(seen.windowMs / 1000).toFixed(0)} s window`;
  return `live subscriber in all: ${seen.messages} GraphQL messages, ${seen.notifications} LISTEN notifications (${span}).`;
}

/** Prints the latency table; returns its three figures. */
export function reportLatency(mode: Mode, latency: LatencyResult): { latencyP50Ms: number | null; latencyP99Ms: number | null; liveP99Ms: number | null } {
  printTable(
    `Latency at ${latency.ratePerSecond} events/s (open loop, batches of ${mode.latency.batchEvents}, one delivery per event)`,
    ['measure', 'samples', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms'],
    [
      ['publish → receipt', latency.received, latency.p50, latency.p90, latency.p99, latency.max],
      ['  of which: publish call (scheduled → answered)', latency.events, latency.publishCall.p50, null, latency.publishCall.p99, null],
      ['  of which: answered → receipt', latency.received, latency.afterAccept.p50, null, latency.afterAccept.p99, null],
      ['attempt recorded → live message', latency.live.messages, latency.live.p50, null, latency.live.p99, latency.live.max],
      ['  of which: recorded → notification at a plain LISTEN', latency.live.messages, latency.live.toNotification.p50, null, latency.live.toNotification.p99, null],
      ['  of which: notification → GraphQL message', latency.live.messages, latency.live.afterNotification.p50, null, latency.live.afterNotification.p99, null],
    ],
    [
      `${latency.missing} of ${latency.events} events not received (counted as infinitely late); ${latency.late} publish ticks late; ${latency.publishErrors} publish errors.`,
      `CPU over the window (% of one core): worker ${latency.cpu.worker.toFixed(0)}, api ${latency.cpu.api.toFixed(0)}, postgres ${latency.cpu.postgres.toFixed(0)}.`,
      `Postgres background during the window: autovacuum in ${latency.background.autovacuumSamples} of ${latency.background.samples} samples${latency.background.autovacuumTables.length ? ` (${latency.background.autovacuumTables.join('; ')})` : ''}, ${latency.background.checkpoints} checkpoint(s) started.`,
      `live: ${latency.live.via}${latency.live.errors.length ? `; errors: ${latency.live.errors.join('; ')}` : ''}`,
      liveSeenNote(latency.live.seen),
    ],
  );
  return { latencyP50Ms: round(latency.p50, 1), latencyP99Ms: round(latency.p99, 1), liveP99Ms: round(latency.live.p99, 1) };
}
