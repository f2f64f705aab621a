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
