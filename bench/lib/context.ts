/** What every scenario gets: the processes of the run, the API, and a measured flow helper. */
import type { Sql } from 'postgres';
import type { BenchChild } from './ipc.js';
import type { Api } from './api.js';
import type { Mode } from './modes.js';
import type { Service } from './service.js';
import type { BenchDatabase } from './database.js';
import { MachineMeter, meterGroups, rssMb } from './procStats.js';

export interface Context {
  mode: Mode;
  db: BenchDatabase;
  /** One connection to the bench database (setup checks, pg backend pids). */
  sql: Sql;
  service: Service;
  api: Api;
  receiver: BenchChild;
  receiverUrl: string;
  hangReceiver: BenchChild;
  hangReceiverUrl: string;
  loadgen: BenchChild;
  ceiling: BenchChild;
  subscriber: BenchChild;
  log(line: string): void;
}

export interface ReceiverCounts {
  ok: number;
  hang: number;
  flakyFailed: number;
  flakyOk: number;
  other: number;
  connections: number;
}

/** The server's WAL counters (Postgres 14+). */
export async function walCounters(ctx: Context): Promise<{ bytes: number; fpi: number } | null> {
  try {
    const [row] = await ctx.sql<{ bytes: string; fpi: string }[]>`SELECT wal_bytes::text AS bytes, wal_fpi::text AS fpi FROM pg_stat_wal`;
    return row ? { bytes: Number(row.bytes), fpi: Number(row.fpi) } : null;
  } catch {
    return null;
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Postgres backends serving the bench database (its CPU column), except our own connection;
 * with `role`, only those of that service role's pools (their application_name, db/client.ts).
 */
export async function pgBackendPids(ctx: Context, role?: 'api' | 'worker'): Promise<number[]> {
  const rows = await ctx.sql<{ pid: number }[]>`
    SELECT pid FROM pg_stat_activity
    WHERE datname = current_database() AND pid <> pg_backend_pid()
      ${role ? ctx.sql`AND application_name LIKE ${`org-webhooks:${role}%`}` : ctx.sql``}`;
  return rows.map((r) => r.pid);
}

export interface FlowMeasurement {
  /** Successful deliveries per second at the receiver over the window. */
  rate: number;
  /** Slowest and fastest whole second of the window. */
  minSecond: number | null;
  maxSecond: number | null;
  delivered: number;
  seconds: number;
  /** Mean deliveries published and not yet received during the window (0 means starved). */
  meanOutstanding: number;
  cpu: Record<string, number>;
  /** CPU milliseconds per delivered delivery, per process group and in total (`all`). */
  cpuMsPerDelivery: Record<string, number>;
  machineBusyCores: number;
  /**
   * WAL bytes Postgres wrote over the window per delivered delivery (`pg_stat_wal`, the whole
   * server: nothing else should run on it during a bench), and full-page images among them.
   */
  walBytesPerDelivery: number | null;
  walFullPageImagesPerThousand: number | null;
  /** Peak RSS (MB) of the worker-role process(es) sampled during the window. */
  workerRssMb: number | null;
  publisher: { events: number; deliveries: number; calls: number; errors: number; lastError: string | null; callP50Ms: number | null };
}

/**
 * Runs a flow-controlled load (the loadgen keeps `window` deliveries outstanding) for
 * warmup + window and measures, over the window only, the receiver's 2xx count and the CPU of
 * each process group. `cpuGroups` maps a column name to the pids it sums.
 */
export async function measureFlow(
  ctx: Context,
  spec: Record<string, unknown> & { countPerEvent: number },
  timing: { warmupMs: number; windowMs: number },
  cpuGroups: Record<string, () => number[] | Promise<number[]>>,
  rssPids: () => number[] = () => [],
): Promise<FlowMeasurement> {
  const counts = () => ctx.receiver.call<ReceiverCounts>('counts');
  const base = (await counts()).ok;
  await ctx.loadgen.call('flowStart', { window: ctx.mode.window, ...spec });
  const machine = new MachineMeter();
  const started = performance.now();
  const warmEnd = started + timing.warmupMs;
  const end = warmEnd + timing.windowMs;
  let inWindow = false;
  let w0 = 0;
  let t0 = 0;
  let last = 0;
  let lastT = 0;
  let secondStart = 0;
  let secondCount = 0;
  const seconds: number[] = [];
  let outstandingSum = 0;
  let outstandingN = 0;
  let rssMax: number | null = null;
  let wal0: Awaited<ReturnType<typeof walCounters>> = null;
  // Begun when the window opens (the loop always reaches it before it can end).
  let meters!: ReturnType<typeof meterGroups>;
  for (;;) {
    const now = performance.now();
    const entering = !inWindow && now >= warmEnd;
    // Pools open connections lazily: take the pids at the start of the window.
    const pids = entering ? await Promise.all(Object.values(cpuGroups).map((f) => f())) : [];
    const c = (await counts()).ok - base;
    const published = await ctx.loadgen.call<{ published: number }>('received', c);
    last = c;
    lastT = performance.now();
    if (entering) {
      w0 = c;
      t0 = lastT;
      secondStart = lastT;
      secondCount = c;
      meters = meterGroups(Object.fromEntries(Object.keys(cpuGroups).map((k, i) => [k, pids[i]!])));
      machine.begin();
      wal0 = await walCounters(ctx);
      inWindow = true;
    }
    if (inWindow) {
      outstandingSum += Math.max(0, published.published - c);
      outstandingN++;
      if (lastT - secondStart >= 1000) {
        seconds.push(((c - secondCount) * 1000) / (lastT - secondStart));
        secondStart = lastT;
        secondCount = c;
      }
      for (const pid of rssPids()) {
        const r = rssMb(pid);
        if (r !== null) rssMax = Math.max(rssMax ?? 0, r);
      }
    }
    if (now >= end) break;
    await sleep(100);
  }
  const cpu = meters.end();
  const busy = machine.end();
  const wal1 = await walCounters(ctx);
  const publisher = await ctx.loadgen.call<any>('flowStop');
  // Let the tail drain (everything published is delivered) so the next scenario starts clean.
  const drainUntil = Date.now() + 60_000;
  while (Date.now() < drainUntil && (await counts()).ok - base < (publisher?.deliveries ?? 0)) await sleep(50);
  const callMs: number[] = publisher?.callMs ?? [];
  callMs.sort((a, b) => a - b);
  const delivered = last - w0;
  const secondsTotal = (lastT - t0) / 1000;
  const cpuMsPerDelivery: Record<string, number> = {};
  let all = 0;
  for (const [k, pct] of Object.entries(cpu)) {
    const ms = delivered > 0 ? ((pct / 100) * secondsTotal * 1000) / delivered : 0;
    cpuMsPerDelivery[k] = ms;
    all += ms;
  }
  cpuMsPerDelivery.all = all;
  return {
    rate: delivered / secondsTotal,
    cpuMsPerDelivery,
    minSecond: seconds.length ? Math.min(...seconds) : null,
    maxSecond: seconds.length ? Math.max(...seconds) : null,
    delivered,
    seconds: secondsTotal,
    meanOutstanding: outstandingN ? outstandingSum / outstandingN : 0,
    cpu,
    machineBusyCores: busy.busyCores,
    walBytesPerDelivery: wal0 && wal1 && delivered > 0 ? (wal1.bytes - wal0.bytes) / delivered : null,
    walFullPageImagesPerThousand: wal0 && wal1 && delivered > 0 ? ((wal1.fpi - wal0.fpi) * 1000) / delivered : null,
    workerRssMb: rssMax,
    publisher: {
      events: publisher?.events ?? 0,
      deliveries: publisher?.deliveries ?? 0,
      calls: publisher?.calls ?? 0,
      errors: publisher?.errors ?? 0,
      lastError: publisher?.lastError ?? null,
      callP50Ms: callMs.length ? callMs[Math.floor(callMs.length / 2)]! : null,
    },
  };
}

/** Waits until the receiver's 2xx count stops moving for `quietMs` (a flow's tail drained). */
export async function waitQuiet(ctx: Context, quietMs = 300, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = -1;
  let since = Date.now();
  while (Date.now() < deadline) {
    const c = (await ctx.receiver.call<ReceiverCounts>('counts')).ok;
    if (c !== last) {
      last = c;
      since = Date.now();
    } else if (Date.now() - since >= quietMs) return;
    await sleep(50);
  }
}
