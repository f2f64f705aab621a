/**
 * Retry timing: endpoints that fail every delivery once (500) and then accept it, at a steady
 * rate. Each delivery's scheduled retry time (deliveries.next_attempt_at after the failure) is
 * captured by polling while it waits; lateness = the retry attempt's started_at − that time.
 * The breaker is off on these endpoints (every first attempt fails, which would open it).
 */
import { createEndpoints, deleteEndpoints } from '../lib/api.js';
import { sleep, type Context, type ReceiverCounts } from '../lib/context.js';
import type { Mode } from '../lib/modes.js';
import { percentile, printTable, round } from '../lib/stats.js';

export interface RetryResult {
  deliveries: number;
  retried: number;
  unobserved: number;
  p50: number | null;
  p99: number | null;
  max: number | null;
  early: number;
}

export async function runRetry(ctx: Context, type: string): Promise<RetryResult> {
  const { endpoints: count, ratePerSecond, publishMs, backoffSeconds } = ctx.mode.retry;
  const endpoints = await createEndpoints(ctx.api, count, (i) => `${ctx.receiverUrl}/flaky/${i}`, [type], {
    retryPolicy: { initialBackoffSeconds: backoffSeconds, multiplier: 1, maxBackoffSeconds: backoffSeconds, maxAttempts: 5 },
    circuitBreaker: { enabled: false },
  });
  const ids = endpoints.map((e) => e.id);
  const scheduled = new Map<string, number>();
  let polling = true;
  const poller = (async () => {
    while (polling) {
      const rows = await ctx.sql<{ id: string; at: Date }[]>`
        SELECT id, next_attempt_at AS at FROM deliveries
        WHERE endpoint_id = ANY(${ids}::text[]) AND status = 'PENDING' AND attempt_count = 1 AND next_attempt_at IS NOT NULL`;
      for (const r of rows) if (!scheduled.has(r.id)) scheduled.set(r.id, r.at.getTime());
      await sleep(100);
    }
  })();
  const before = await ctx.receiver.call<ReceiverCounts>('counts');
  // Each event goes to every flaky endpoint: `ratePerSecond` deliveries/s in all.
  await ctx.loadgen.call('openStart', { types: [type], ratePerSecond: ratePerSecond / count, batchEvents: 1, track: false });
  await sleep(publishMs);
  const published = await ctx.loadgen.call<{ calls: number }>('openStop');
  const expected = published.calls * count;
  const deadline = Date.now() + backoffSeconds * 1500 + 10_000;
  while (Date.now() < deadline) {
    const c = await ctx.receiver.call<ReceiverCounts>('counts');
    if (c.flakyOk - before.flakyOk >= expected) break;
    await sleep(100);
  }
  polling = false;
  await poller;
  const attempts = await ctx.sql<{ delivery_id: string; started_at: Date }[]>`
    SELECT delivery_id, started_at FROM delivery_attempts WHERE endpoint_id = ANY(${ids}::text[]) AND attempt_number = 2`;
  const lateness: number[] = [];
  let unobserved = 0;
  let early = 0;
  for (const a of attempts) {
    const at = scheduled.get(a.delivery_id);
    if (at === undefined) {
      unobserved++;
      continue;
    }
    const late = a.started_at.getTime() - at;
    if (late < 0) early++;
    lateness.push(late);
  }
  await deleteEndpoints(ctx.api, endpoints);
  return {
    deliveries: expected,
    retried: attempts.length,
    unobserved,
    p50: percentile(lateness, 0.5),
    p99: percentile(lateness, 0.99),
    max: lateness.length ? Math.max(...lateness) : null,
    early,
  };
}

/** Prints the retry table; returns `retryLateP99Ms`. */
export function reportRetry(mode: Mode, retry: RetryResult): number | null {
  printTable(
    `Retry timing: every delivery fails once, retried after ${mode.retry.backoffSeconds} s ±20%`,
    ['deliveries', 'retries measured', 'p50 late ms', 'p99 late ms', 'max late ms', 'early'],
    [[retry.deliveries, retry.retried - retry.unobserved, retry.p50, retry.p99, retry.max, retry.early]],
    retry.unobserved ? [`${retry.unobserved} retries whose schedule was not observed (excluded)`] : [],
  );
  return round(retry.p99, 0);
}
