/**
 * Throughput and the bare ceiling, side by side at each endpoint count: the bare loop first, then
 * the system, on the same receiver, Postgres and load shape (1 KiB events fanned out to every
 * endpoint, 1,000 deliveries per publish call, two calls in flight, at most `window` deliveries
 * outstanding so the queue never runs dry).
 */
import { pgBackendPids, measureFlow, type Context, type FlowMeasurement } from '../lib/context.js';
import type { BenchEndpoint } from '../lib/api.js';

export interface ThroughputRow {
  label: string;
  endpoints: number;
  m: FlowMeasurement;
}

export const FLOW_CONCURRENCY = 2;
function batchEventsFor(ctx: Context, fanout: number): number {
  return Math.max(1, Math.round(ctx.mode.deliveriesPerCall / fanout));
}

/**
 * The bare ceiling (bench/procs/ceiling.ts) on the same endpoints' URLs and secrets, numbered
 * from `firstEndpoint` in its own tables, fed by the load generator like the system.
 */
export async function runCeiling(ctx: Context, endpoints: BenchEndpoint[], firstEndpoint: number): Promise<ThroughputRow> {
  await ctx.ceiling.call('setup', {
    databaseUrl: ctx.db.url,
    endpoints: endpoints.map((e, i) => ({ endpoint: firstEndpoint + i, url: e.url, secret: e.secret })),
    // The system's defaults: maxInFlight per endpoint; connections enough for every endpoint's batches.
    maxInFlight: 16,
    poolSize: 32,
  });
  await ctx.ceiling.call('start');
  let counts: { errors: number; failed: number; lastError: string | null } = { errors: 0, failed: 0, lastError: null };
  const m = await measureFlow(
    ctx,
    { kind: 'ceiling', firstEndpoint, countPerEvent: endpoints.length, batchEvents: batchEventsFor(ctx, endpoints.length), concurrency: FLOW_CONCURRENCY },
    ctx.mode.ceiling,
    {
      loop: () => [ctx.ceiling.pid],
      api: () => [],
      postgres: () => pgBackendPids(ctx),
      receiver: () => [ctx.receiver.pid],
      loadgen: () => [ctx.loadgen.pid],
    },
    () => [ctx.ceiling.pid],
  ).finally(async () => {
    counts = await ctx.ceiling.call<{ errors: number; failed: number; lastError: string | null }>('stop');
    if (counts.errors || counts.failed) ctx.log(`ceiling: ${counts.errors} errors, ${counts.failed} failed requests (last: ${counts.lastError})`);
  });
  // A loop whose statements failed skipped work the system does: it is no longer a bound.
  if (counts.errors) throw new Error(`the ceiling loop failed ${counts.errors} times (last: ${counts.lastError}): not an upper bound, no figure`);
  return { label: `bare ceiling, ${endpoints.length} endpoints`, endpoints: endpoints.length, m };
}

/** The system: events published through the API, delivered by the worker role. */
export async function runSystem(ctx: Context, endpoints: BenchEndpoint[], type: string, label = 'system'): Promise<ThroughputRow> {
  const m = await measureSystem(ctx, type, endpoints.length, endpoints.length, ctx.mode.throughput);
  return { label: `${label}, ${endpoints.length} endpoints`, endpoints: endpoints.length, m };
}

/** One flow-controlled run of the system; `counted` endpoints answer 2xx out of `fanout`. */
export function measureSystem(
  ctx: Context,
  type: string,
  fanout: number,
  counted: number,
  timing: { warmupMs: number; windowMs: number },
): Promise<FlowMeasurement> {
  const apiOnly = ctx.service.apiOnlyPids();
  return measureFlow(
    ctx,
    { kind: 'graphql', type, countPerEvent: counted, batchEvents: batchEventsFor(ctx, fanout), concurrency: FLOW_CONCURRENCY },
    timing,
    {
      worker: () => ctx.service.workerPids(),
      api: () => apiOnly,
      postgres: () => pgBackendPids(ctx),
      receiver: () => [ctx.receiver.pid],
      loadgen: () => [ctx.loadgen.pid],
    },
    () => ctx.service.workerPids(),
  );
}

