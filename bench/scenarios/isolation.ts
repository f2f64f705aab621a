/**
 * Isolation: dead endpoints (a receiver that never answers; timeoutMs 1,000) are added to the
 * second throughput set until they are 20% of all endpoints, and the same flow-controlled load
 * runs again. Every event still goes to every endpoint, so the system also writes the dead
 * endpoints' deliveries and jobs. The healthy endpoints' rate is compared with the same endpoints
 * running alone (the throughput run just before, same load shape).
 * - default settings: the circuit breaker opens after 10 consecutive failures, so after the
 *   first second the dead endpoints cost their share of publishing and queue space;
 * - breaker off (full mode): they keep 16 requests each hanging until the timeout, then retry, for
 *   the whole window: the harsher test of the per-endpoint fetch and concurrency limits.
 */
import { createEndpoints, deleteEndpoints, type BenchEndpoint } from '../lib/api.js';
import { waitQuiet, type Context, type FlowMeasurement } from '../lib/context.js';
import { printTable } from '../lib/stats.js';
import { measureSystem } from './throughput.js';

export interface IsolationResult {
  label: string;
  healthy: number;
  dead: number;
  m: FlowMeasurement;
  deadRequests: number;
}

export async function runIsolation(ctx: Context, healthy: BenchEndpoint[], type: string, breaker: boolean): Promise<IsolationResult> {
  const { dead: deadCount, timeoutMs } = ctx.mode.isolation;
  const dead = await createEndpoints(ctx.api, deadCount, (i) => `${ctx.hangReceiverUrl}/hang/${i}`, [type], {
    timeoutMs,
    ...(breaker ? {} : { circuitBreaker: { enabled: false } }),
  });
  const before = (await ctx.hangReceiver.call<{ hang: number }>('counts')).hang;
  try {
    const m = await measureSystem(ctx, type, healthy.length + dead.length, healthy.length, ctx.mode.isolation);
    const deadRequests = (await ctx.hangReceiver.call<{ hang: number }>('counts')).hang - before;
    return { label: breaker ? 'default settings (breaker on)' : 'breaker off', healthy: healthy.length, dead: dead.length, m, deadRequests };
  } finally {
    await deleteEndpoints(ctx.api, dead);
    await ctx.hangReceiver.call('dropSockets');
    await waitQuiet(ctx);
  }
}

/** The healthy endpoints alone again, right after the isolation run, with its window (the reference's second half). */
export async function runAloneAgain(ctx: Context, healthy: BenchEndpoint[], type: string): Promise<FlowMeasurement> {
  const m = await measureSystem(ctx, type, healthy.length, healthy.length, ctx.mode.isolation);
  await waitQuiet(ctx);
  return m;
}

/**
 * Prints the isolation table and returns `isolationRatio`: the default-settings run over the
 * reference (the mean of the alone runs before and after; only the one before when the second
 * failed).
 */
export function reportIsolation(ctx: Context, runs: IsolationResult[], before: FlowMeasurement, after: FlowMeasurement | null): number {
  const reference = after ? (before.rate + after.rate) / 2 : before.rate;
  const first = runs[0]!;
  const alone = (label: string, m: FlowMeasurement) => [label, m.rate, m.rate / reference, m.minSecond, m.cpu.worker, m.cpu.postgres, m.meanOutstanding, null];
  printTable(
    `Isolation: ${first.dead} of ${first.healthy + first.dead} endpoints never answer (timeout ${ctx.mode.isolation.timeoutMs} ms), every event to every endpoint`,
    ['run', 'healthy deliveries/s', 'ratio to alone', 'slowest s', 'worker CPU%', 'pg CPU%', 'queued (mean)', 'requests to dead endpoints'],
    [
      alone(`${first.healthy} healthy alone, before (throughput run)`, before),
      ...(after ? [alone(`${first.healthy} healthy alone, again right after`, after)] : []),
      ...runs.map((r) => [`+ ${r.dead} dead, ${r.label}`, r.m.rate, r.m.rate / reference, r.m.minSecond, r.m.cpu.worker, r.m.cpu.postgres, r.m.meanOutstanding, r.deadRequests]),
    ],
    [
      `ratio to alone = healthy deliveries/s over ${after ? 'the mean of the two alone runs' : 'the alone run before (the run after failed)'} (${Math.round(reference).toLocaleString('en-US')}/s).`,
      'isolationRatio = the default-settings run.',
    ],
  );
  return first.m.rate / reference;
}
