/**
 * Platform scale: many organizations with a few endpoints each, built through the API as a
 * platform and its customers' admins would (createOrganization with the platform credential,
 * createEndpoint with each organization's own key, 8 calls at once), measured as it grows:
 * - createEndpoint/s per step of growth;
 * - the publish call's duration (one event, one delivery, organization 0) at each step;
 * - deliveries/s to one organization's 10 endpoints vs. every delivery to a different endpoint
 *   among all of them (same publish pattern: one event per endpoint of one organization per call);
 * - publish → receipt at a steady rate, each event to a random organization (one delivery each);
 * - the worker's RSS while the whole endpoint population is in play.
 */
import type { BenchChild } from '../lib/ipc.js';
import { nowMs } from '../lib/ipc.js';
import { measureFlow, pgBackendPids, sleep, type Context, type FlowMeasurement } from '../lib/context.js';
import { CpuMeter, rssMb } from '../lib/procStats.js';
import { percentile } from '../lib/stats.js';

/** Endpoint k of every organization subscribes to type k: one delivery per endpoint per call. */
export const SCALE_TYPES = [
  'pipeline.run.started',
  'pipeline.run.succeeded',
  'pipeline.run.failed',
  'pipeline.run.cancelled',
  'orchestration.job.queued',
  'orchestration.lease.acquired',
  'orchestration.backfill.segment_completed',
  'security.sso_certificate.expiring',
  'security.policy.changed',
  'governance.contract.violation_detected',
];

export interface ScaleStep {
  endpoints: number;
  organizations: number;
  createOrganizationPerSecond: number | null;
  createEndpointPerSecond: number | null;
  publishP50Ms: number | null;
  publishP99Ms: number | null;
  /** CPU ms per createEndpoint call: api process(es) and Postgres (independent of machine load). */
  createEndpointCpuMs: { api: number; postgres: number } | null;
}

export interface ScaleResult {
  steps: ScaleStep[];
  endpointCreatePerSecond: number;
  concentrated: FlowMeasurement;
  spread: FlowMeasurement;
  fanout: {
    events: number;
    received: number;
    missing: number;
    p50: number | null;
    p99: number | null;
    max: number | null;
    errors: number;
    /** scheduled → the publish call's answer, and that answer → receipt. */
    call: { p50: number | null; p99: number | null };
    afterAnswer: { p50: number | null; p99: number | null };
    /** CPU % of each process group over the open loop (200 = both cores). */
    cpu: { worker: number; api: number; postgres: number };
  };
  workerRssMb: number | null;
  publishRatio: number | null;
  endpoints: number;
  organizations: number;
}

export async function runScale(ctx: Context, driver: BenchChild, platformToken: string): Promise<ScaleResult> {
  const m = ctx.mode.scale;
  const urlBase = `${ctx.receiverUrl}/ok/s`;
  await driver.call('init', { apiUrl: ctx.service.apiUrl, platformToken, types: SCALE_TYPES.slice(0, m.endpointsPerOrg) });
  const driverCtx: Context = { ...ctx, loadgen: driver };
  const cpuGroups = {
    worker: () => ctx.service.workerPids(),
    api: () => ctx.service.apiOnlyPids(),
    postgres: () => pgBackendPids(ctx),
  };
  const probe = async (): Promise<{ p50: number | null; p99: number | null }> => {
    const ms = await driver.call<number[]>('probePublish', { count: m.probes, intervalMs: 10 });
    return { p50: percentile(ms, 0.5), p99: percentile(ms, 0.99) };
  };

  const steps: ScaleStep[] = [];
  let organizations = 0;
  let endpointSeconds = 0;
  let endpointsMade = 0;
  for (const target of m.steps) {
    const orgs = target - organizations;
    const madeOrgs = await driver.call<{ perSecond: number }>('createOrganizations', { count: orgs, concurrency: 8, prefix: 'scale' });
    const t0 = nowMs();
    const apiMeter = new CpuMeter();
    const pgMeter = new CpuMeter();
    apiMeter.begin(await cpuGroups.api());
    pgMeter.begin(await cpuGroups.postgres());
    const madeEndpoints = await driver.call<{ perSecond: number; created: number }>('createEndpoints', {
      from: organizations,
      to: target,
      perOrg: m.endpointsPerOrg,
      urlBase,
      concurrency: 8,
    });
    const stepSeconds = (nowMs() - t0) / 1000;
    const perCall = (pct: number) => (madeEndpoints.created ? ((pct / 100) * stepSeconds * 1000) / madeEndpoints.created : 0);
    const createEndpointCpuMs = { api: perCall(apiMeter.end()), postgres: perCall(pgMeter.end()) };
    endpointSeconds += stepSeconds;
    endpointsMade += madeEndpoints.created;
    organizations = target;
    ctx.log(`scale: ${organizations} organizations, ${endpointsMade} endpoints (${madeEndpoints.perSecond.toFixed(0)} createEndpoint/s)`);
    await sleep(500);
    const p = await probe();
    steps.push({
      endpoints: endpointsMade,
      organizations,
      createOrganizationPerSecond: madeOrgs.perSecond,
      createEndpointPerSecond: madeEndpoints.perSecond,
      publishP50Ms: p.p50,
      publishP99Ms: p.p99,
      createEndpointCpuMs,
    });
    // The first step is the small system every later one is compared with.
    if (steps.length === 1) ctx.log(`scale: publish p50 ${p.p50?.toFixed(1)} ms with ${endpointsMade} endpoints`);
  }

  // Both flows with the whole population present, the same publish pattern, back to back.
  const flowSpec = (spread: 'one' | 'all') => ({ spread, countPerEvent: 1, concurrency: 8 });
  const concentrated = await measureFlow(driverCtx, flowSpec('one'), m.flow, cpuGroups);
  const spread = await measureFlow(driverCtx, flowSpec('all'), m.flow, cpuGroups, () => ctx.service.workerPids());
  let rssMax = spread.workerRssMb;
  const rss = () => {
    for (const pid of ctx.service.workerPids()) {
      const r = rssMb(pid);
      if (r !== null) rssMax = Math.max(rssMax ?? 0, r);
    }
  };

  // Steady rate over every organization: publish → first receipt.
  await ctx.receiver.call('track', true);
  const openMeters = { worker: new CpuMeter(), api: new CpuMeter(), postgres: new CpuMeter() };
  for (const [group, meter] of Object.entries(openMeters)) meter.begin(await cpuGroups[group as keyof typeof cpuGroups]());
  const opened = await driver.call<{ scheduled: Map<string, number>; answered: Map<string, number>; errors: number; lastError: string | null }>('open', {
    ratePerSecond: m.open.ratePerSecond,
    durationMs: m.open.durationMs,
    batchMs: 10,
  });
  const openCpu = { worker: openMeters.worker.end(), api: openMeters.api.end(), postgres: openMeters.postgres.end() };
  rss();
  let receipts = new Map<string, number>();
  for (let i = 0; i < 50; i++) {
    receipts = await ctx.receiver.call<Map<string, number>>('receipts');
    if ([...opened.scheduled.keys()].every((id) => receipts.has(id))) break;
    await sleep(100);
  }
  await ctx.receiver.call('track', false);
  const latencies: number[] = [];
  const callMs: number[] = [];
  const afterAnswerMs: number[] = [];
  let missing = 0;
  for (const [id, t] of opened.scheduled) {
    const answeredAt = opened.answered.get(id)!;
    callMs.push(answeredAt - t);
    const r = receipts.get(id);
    if (r === undefined) missing++;
    else {
      latencies.push(r - t);
      afterAnswerMs.push(r - answeredAt);
    }
  }
  for (let i = 0; i < missing; i++) latencies.push(Number.POSITIVE_INFINITY);
  if (process.env.BENCH_DUMP_MISSING) {
    const rows = [...opened.scheduled].map(([id, t]) => ({ id, t, answered: opened.answered.get(id), r: receipts.get(id) ?? null }));
    (await import('node:fs')).writeFileSync(process.env.BENCH_DUMP_MISSING, JSON.stringify(rows));
  }
  const first = steps[0]!;
  const last = steps.at(-1)!;
  return {
    steps,
    endpointCreatePerSecond: endpointsMade / endpointSeconds,
    concentrated,
    spread,
    fanout: {
      events: opened.scheduled.size,
      received: opened.scheduled.size - missing,
      missing,
      p50: percentile(latencies, 0.5),
      p99: percentile(latencies, 0.99),
      max: latencies.length ? Math.max(...latencies) : null,
      errors: opened.errors,
      call: { p50: percentile(callMs, 0.5), p99: percentile(callMs, 0.99) },
      afterAnswer: { p50: percentile(afterAnswerMs, 0.5), p99: percentile(afterAnswerMs, 0.99) },
      cpu: openCpu,
    },
    workerRssMb: rssMax,
    publishRatio: first.publishP50Ms && last.publishP50Ms ? last.publishP50Ms / first.publishP50Ms : null,
    endpoints: endpointsMade,
    organizations,
  };
}
