/**
 * Ingest: publishEvents through the API in batches of 1,000 1 KiB events, two calls in flight,
 * as fast as they are accepted. One endpoint is subscribed (each event makes one delivery and one
 * job in the same transaction) and the worker delivers them meanwhile, as it would in production.
 *
 * Over the same window it reads where the CPU went, per accepted event: the api process, the
 * Postgres backends serving it (told apart from the worker's by their application_name), the
 * worker and its backends, and the load generator that builds the calls; and the WAL per event.
 * Publishing's own cost (api + its backends) bounds what two cores could accept with nothing
 * else to do, which says how far the target is from this machine.
 */
import type { Context } from '../lib/context.js';
import { pgBackendPids, sleep, walCounters } from '../lib/context.js';
import { MachineMeter, meterGroups } from '../lib/procStats.js';
import { percentile, printTable, round } from '../lib/stats.js';

/** CPU microseconds per accepted event, by process group. */
export interface IngestCpu {
  api: number;
  apiPostgres: number;
  worker: number;
  workerPostgres: number;
  loadgen: number;
  receiver: number;
  /** Postgres's own processes: WAL writer, checkpointer, background writer, autovacuum. */
  postgresBackground: number;
  /** Everything the machine did, per event (idle excluded). */
  machine: number;
}

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
  /** Null in the combined topology (one process publishes and delivers) or when nothing was accepted. */
  cpuUsPerEvent: IngestCpu | null;
  /** Deliveries the receiver got per second over the window (the worker's work meanwhile). */
  deliveredPerSecond: number | null;
  walBytesPerEvent: number | null;
  cores: number;
}

/** Postgres's processes that serve no connection (pids of a moment: autovacuum workers come and go). */
async function postgresBackground(ctx: Context): Promise<number[]> {
  const rows = await ctx.sql<{ pid: number }[]>`SELECT pid FROM pg_stat_activity WHERE backend_type <> 'client backend'`;
  return rows.map((r) => r.pid);
}

export async function runIngest(ctx: Context, type: string): Promise<IngestResult> {
  const { batchEvents, concurrency, warmupMs, windowMs } = ctx.mode.ingest;
  const call = ctx.loadgen.call<any>('ingest', { type, batchEvents, concurrency, durationMs: windowMs, warmupMs });
  // The loadgen counts the calls made within [warmup, warmup + window) of its start; the meters
  // cover the same stretch (an RPC's hop apart).
  await sleep(warmupMs);
  const apiPids = ctx.service.apiOnlyPids();
  const groups: Record<keyof Omit<IngestCpu, 'machine'>, number[]> = {
    api: apiPids,
    apiPostgres: await pgBackendPids(ctx, 'api'),
    worker: ctx.service.workerPids(),
    workerPostgres: await pgBackendPids(ctx, 'worker'),
    loadgen: [ctx.loadgen.pid],
    receiver: [ctx.receiver.pid],
    postgresBackground: await postgresBackground(ctx),
  };
  const meters = meterGroups(groups);
  const machine = new MachineMeter();
  machine.begin();
  const wal0 = await walCounters(ctx);
  const delivered0 = (await ctx.receiver.call<{ ok: number }>('counts')).ok;
  const t0 = performance.now();
  await sleep(windowMs);
  const percent = meters.end();
  const { busyCores, cores } = machine.end();
  const wal1 = await walCounters(ctx);
  const delivered1 = (await ctx.receiver.call<{ ok: number }>('counts')).ok;
  const seconds = (performance.now() - t0) / 1000;
  const r = await call;

  // The combined topology runs publishing and delivering in one process: no split to report.
  const split = apiPids.length > 0 && groups.worker.length > 0;
  const perEvent = (coresBusy: number) => Math.round((coresBusy * 1e7) / r.eventsPerSecond) / 10;
  const metered = split && r.eventsPerSecond > 0;
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
    cpuUsPerEvent: metered
      ? {
          ...(Object.fromEntries(Object.entries<number>(percent).map(([group, percentOfCore]) => [group, perEvent(percentOfCore / 100)])) as Record<keyof typeof groups, number>),
          machine: perEvent(busyCores),
        }
      : null,
    deliveredPerSecond: metered ? round((delivered1 - delivered0) / seconds, 0) : null,
    walBytesPerEvent: metered && wal0 && wal1 ? round((wal1.bytes - wal0.bytes) / (r.eventsPerSecond * seconds), 0) : null,
    cores,
  };
}

/** Prints the ingest tables; returns `ingestPerSecond`. */
export function reportIngest(ingest: IngestResult): number | null {
  printTable(
    `Ingest: publishEvents, batches of ${ingest.batchEvents} × 1 KiB, ${ingest.concurrency} calls in flight, one subscribed endpoint`,
    ['events/s', 'events', 'seconds', 'call p50 ms', 'call p99 ms', 'errors'],
    [[ingest.eventsPerSecond, ingest.events, ingest.seconds, ingest.callP50Ms, ingest.callP99Ms, ingest.errors]],
    ingest.lastError ? [`last error: ${ingest.lastError}`] : [],
  );
  const cpu = ingest.cpuUsPerEvent;
  if (cpu) {
    const publishing = cpu.api + cpu.apiPostgres;
    printTable(
      'Ingest: CPU µs per accepted event over the window (api and worker processes, the Postgres backends of each)',
      ['api', 'its Postgres', 'worker', 'its Postgres', 'Postgres background', 'load generator', 'receiver', 'machine', 'delivered/s meanwhile', 'WAL B/event', 'bound: publishing alone, events/s'],
      [[cpu.api, cpu.apiPostgres, cpu.worker, cpu.workerPostgres, cpu.postgresBackground, cpu.loadgen, cpu.receiver, cpu.machine, ingest.deliveredPerSecond, ingest.walBytesPerEvent, round((ingest.cores * 1e6) / publishing, 0)]],
      [
        `bound: ${ingest.cores} cores ÷ (api + its Postgres) per event, what publishing could accept if it had the machine to itself (no delivery, no load generator, no background work).`,
      ],
    );
  }
  return round(ingest.eventsPerSecond, 0);
}
