/**
 * Backlog: `deliveries` deliveries are queued behind the second throughput set's endpoints
 * (written through the engine's publish path, in transactions of 100 events × fan-out, while the
 * worker keeps delivering), then the very throughput run of that set is repeated on top of the
 * backlog: the drain rate with a deep queue over the rate with an (almost) empty one.
 */
import type { BenchEndpoint } from '../lib/api.js';
import type { Context, FlowMeasurement, ReceiverCounts } from '../lib/context.js';
import { nowMs } from '../lib/ipc.js';
import { printTable, round } from '../lib/stats.js';
import { measureSystem } from './throughput.js';

export interface BacklogResult {
  target: number;
  generated: number;
  generateSeconds: number;
  generatePerSecond: number;
  depthAtStart: number;
  depthAtEnd: number;
  m: FlowMeasurement;
}

export async function runBacklog(ctx: Context, endpoints: BenchEndpoint[], type: string): Promise<BacklogResult> {
  const target = ctx.mode.backlog.deliveries;
  const ok0 = (await ctx.receiver.call<ReceiverCounts>('counts')).ok;
  let generated = 0;
  const started = nowMs();
  const batchEvents = Math.max(1, Math.round(10_000 / endpoints.length));
  // Write until the queue (written − delivered) holds `target`, whatever the worker drains meanwhile.
  for (;;) {
    const delivered = (await ctx.receiver.call<ReceiverCounts>('counts')).ok - ok0;
    const missing = target - (generated - delivered);
    if (missing <= 0) break;
    const chunk = Math.min(missing, 100_000);
    const r = await ctx.loadgen.call<{ deliveries: number }>('bulk', { type, deliveries: chunk, batchEvents: Math.min(batchEvents, Math.ceil(chunk / endpoints.length / 2)), concurrency: 2 });
    generated += r.deliveries;
  }
  const generateSeconds = (nowMs() - started) / 1000;
  const depthAtStart = generated - ((await ctx.receiver.call<ReceiverCounts>('counts')).ok - ok0);
  const m = await measureSystem(ctx, type, endpoints.length, endpoints.length, ctx.mode.backlog);
  // The flow keeps `window` more on top; what is left of the bulk backlog:
  const depthAtEnd = generated + m.publisher.deliveries - ((await ctx.receiver.call<ReceiverCounts>('counts')).ok - ok0);
  return { target, generated, generateSeconds, generatePerSecond: generated / generateSeconds, depthAtStart, depthAtEnd, m };
}

/** Prints the backlog table beside the empty-queue run `empty` (the throughput run); returns `backlogRatio`. */
export function reportBacklog(backlog: BacklogResult, empty: FlowMeasurement, endpoints: number): number | null {
  const ratio = backlog.m.rate / empty.rate;
  printTable(
    `Backlog: ${backlog.target.toLocaleString('en-US')} deliveries queued, ${endpoints} endpoints`,
    ['run', 'deliveries/s', 'slowest s', 'worker CPU%', 'pg CPU%', 'queued at start', 'queued at end'],
    [
      ['empty queue (throughput run)', empty.rate, empty.minSecond, empty.cpu.worker, empty.cpu.postgres, null, null],
      ['deep queue', backlog.m.rate, backlog.m.minSecond, backlog.m.cpu.worker, backlog.m.cpu.postgres, backlog.depthAtStart, backlog.depthAtEnd],
      ['ratio', ratio, null, null, null, null, null],
    ],
    [`backlog written at ${Math.round(backlog.generatePerSecond).toLocaleString('en-US')} deliveries/s (engine publish path, ${backlog.generateSeconds.toFixed(1)} s) while the worker delivered.`],
  );
  return round(ratio, 3);
}
