/**
 * The bare ceiling loop, a process of its own: the least work a durable, signed, recorded
 * delivery needs, written with the cheapest statements we know (bench/lib/ceilingSql.ts), so the
 * system's rate divided by this one is at most 1 by construction (docs/benchmarks.md, "Why the
 * ceiling is a bound"). Per endpoint it keeps at most `maxInFlight` requests out, like the
 * system, and leases again as soon as a quarter of them are free (the system's fetch rule): each
 * lease is a transaction that deletes a batch of the endpoint's oldest due jobs, sends them (HMAC
 * signed, keep-alive POST to the same receiver), records every attempt in one multi-row insert and
 * commits. No deliveries table, no breaker, no ordering keys, no notifications, no per-attempt
 * bookkeeping beyond the attempt row itself.
 */
import { createHmac } from 'node:crypto';
import { Agent } from 'undici';
import type { Sql } from 'postgres';
import { openPostgres } from '../../server/db/client.js';
import { serve } from '../lib/ipc.js';
import { CEILING_SCHEMA, leaseCeilingJobs, recordCeilingAttempts, type CeilingAttempt, type LeasedJob } from '../lib/ceilingSql.js';

interface EndpointSpec {
  /** Number of the endpoint in the ceiling's tables. */
  endpoint: number;
  url: string;
  /** whsec_... */
  secret: string;
}

interface Loop {
  spec: EndpointSpec;
  key: Buffer;
  origin: string;
  path: string;
  inFlight: number;
  leasing: boolean;
  timer: NodeJS.Timeout | null;
  batches: Set<Promise<void>>;
}

const agent = new Agent({ connections: null, keepAliveTimeout: 60_000 });
let sql: Sql | null = null;
let loops: Loop[] = [];
let running = false;
let maxInFlight = 16;
let minBatch = 4;
const counts = { sent: 0, ok: 0, failed: 0, recorded: 0, leases: 0, emptyLeases: 0, errors: 0 };
let lastError: string | null = null;

/** Leases when at least `minBatch` slots are free (or the endpoint is idle), like the system. */
function maybeLease(l: Loop): void {
  if (!running || l.leasing) return;
  const free = maxInFlight - l.inFlight;
  if (free <= 0 || (l.inFlight > 0 && free < minBatch)) return;
  l.leasing = true;
  l.inFlight += free;
  counts.leases++;
  const batch = runBatch(l, free).finally(() => l.batches.delete(batch));
  l.batches.add(batch);
}

/** One transaction: lease up to `limit` jobs, send them all, record them all, commit. */
async function runBatch(l: Loop, limit: number): Promise<void> {
  let reserved = limit;
  let leased = false;
  try {
    await sql!.begin(async (tx) => {
      const jobs = await leaseCeilingJobs(tx as unknown as Sql, l.spec.endpoint, limit);
      leased = true;
      l.inFlight -= limit - jobs.length;
      reserved = jobs.length;
      l.leasing = false;
      if (jobs.length === 0) return;
      // The next lease may overlap this batch's requests.
      maybeLease(l);
      const attempts = await Promise.all(jobs.map((job) => send(l, job)));
      await recordCeilingAttempts(tx as unknown as Sql, l.spec.endpoint, attempts);
    });
    counts.recorded += reserved;
  } catch (err) {
    counts.errors++;
    lastError = (err as Error).message;
    await new Promise((r) => setTimeout(r, 100));
  } finally {
    if (!leased) l.leasing = false;
    l.inFlight -= reserved;
  }
  if (leased && reserved === 0) {
    counts.emptyLeases++;
    // No NOTIFY in the bare loop: look again shortly.
    if (!l.timer) l.timer = setTimeout(() => ((l.timer = null), maybeLease(l)), 5);
  } else {
    maybeLease(l);
  }
}

async function send(l: Loop, job: LeasedJob): Promise<CeilingAttempt> {
  const startedAt = new Date();
  const t0 = performance.now();
  const timestamp = Math.floor(startedAt.getTime() / 1000);
  const signature = `v1,${createHmac('sha256', l.key).update(`${job.event_id}.${timestamp}.${job.body}`).digest('base64')}`;
  let status: number | null = null;
  let responseHeaders: string | null = null;
  let responseBody: string | null = null;
  let error: string | null = null;
  try {
    const res = await agent.request({
      origin: l.origin,
      path: l.path,
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'user-agent': 'org-webhooks-bench-ceiling',
        'webhook-id': job.event_id,
        'webhook-timestamp': String(timestamp),
        'webhook-signature': signature,
      },
      body: job.body,
      headersTimeout: 15_000,
      bodyTimeout: 15_000,
    });
    responseBody = (await res.body.text()).slice(0, 4096);
    status = res.statusCode;
    responseHeaders = JSON.stringify(res.headers);
  } catch (err) {
    error = (err as Error).message;
  }
  counts.sent++;
  if (status !== null && status >= 200 && status < 300) counts.ok++;
  else counts.failed++;
  return { eventId: job.event_id, attempt: job.attempt, startedAt, durationMs: Math.round(performance.now() - t0), status, responseHeaders, responseBody, error };
}

serve({
  async setup(arg: { databaseUrl: string; endpoints: EndpointSpec[]; maxInFlight: number; poolSize: number }) {
    if (!sql) {
      // Recording needs no WAL flush before moving on (the system's worker pool does the same);
      // publishing, in the load generator, commits durably.
      sql = openPostgres(arg.databaseUrl, {
        max: arg.poolSize,
        onnotice: () => {},
        connection: { application_name: 'bench-ceiling', synchronous_commit: 'off' },
      });
      await sql.unsafe(CEILING_SCHEMA);
    }
    maxInFlight = arg.maxInFlight;
    minBatch = Math.max(1, Math.floor(arg.maxInFlight / 4));
    loops = arg.endpoints.map((spec) => {
      const url = new URL(spec.url);
      return {
        spec,
        key: Buffer.from(spec.secret.replace(/^whsec_/, ''), 'base64'),
        origin: url.origin,
        path: url.pathname,
        inFlight: 0,
        leasing: false,
        timer: null,
        batches: new Set(),
      };
    });
  },
  start() {
    running = true;
    for (const k of Object.keys(counts) as (keyof typeof counts)[]) counts[k] = 0;
    for (const l of loops) maybeLease(l);
  },
  counts: () => ({ ...counts, lastError }),
  async stop() {
    running = false;
    for (const l of loops) if (l.timer) clearTimeout(l.timer);
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline && loops.some((l) => l.batches.size > 0)) await new Promise((r) => setTimeout(r, 20));
    return { ...counts, lastError };
  },
  async close() {
    await sql?.end({ timeout: 2 });
    await agent.close();
  },
});
