/**
 * Ingest: publishEvents through the API in batches of 1,000 1 KiB events, two calls in flight,
 * as fast as they are accepted. One endpoint is subscribed (each event makes one delivery and one
 * job in the same transaction) and the worker delivers them meanwhile, as it would in production.
 */
import type { Context } from '../lib/context.js';
import { percentile, printTable, round } from '../lib/stats.js';

export interface IngestResult {
  eventsPerSecond: number;
  events: number;
  seconds: number;
  calls: number;
  errors: number;
  lastError: string | null;
  callP50Ms: number | null;
  callP99Ms: number | null;
  concurrency: number;
  batchEvents: number;
}

export async function runIngest(ctx: Context, type: string): Promise<IngestResult> {
  const { batchEvents, concurrency, warmupMs, windowMs } = ctx.mode.ingest;
  const r = await ctx.loadgen.call<any>('ingest', { type, batchEvents, concurrency, durationMs: windowMs, warmupMs });
  return {
    eventsPerSecond: r.eventsPerSecond,
    events: r.measuredEvents,
    seconds: r.seconds,
    calls: r.calls,
    errors: r.errors,
    lastError: r.lastError,
    callP50Ms: percentile(r.callMs, 0.5),
    callP99Ms: percentile(r.callMs, 0.99),
    concurrency,
    batchEvents,
  };
}

/** Prints the ingest table; returns `ingestPerSecond`. */
export function reportIngest(ingest: IngestResult): number | null {
  printTable(
    `Ingest: publishEvents, batches of ${ingest.batchEvents} × 1 KiB, ${ingest.concurrency} calls in flight, one subscribed endpoint`,
    ['events/s', 'events', 'seconds', 'call p50 ms', 'call p99 ms', 'errors'],
    [[ingest.eventsPerSecond, ingest.events, ingest.seconds, ingest.callP50Ms, ingest.callP99Ms, ingest.errors]],
    ingest.lastError ? [`last error: ${ingest.lastError}`] : [],
  );
  return round(ingest.eventsPerSecond, 0);
}
