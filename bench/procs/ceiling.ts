/**
 * The bare ceiling loop, a process of its own: pg-boss fetch → HMAC sign → POST (undici,
 * keep-alive) → insert one attempt row → pg-boss complete, nothing else. No deliveries or events
 * tables, no breaker, no ordering, no transactions, no notifications: the least work any
 * delivery engine on this stack must do per delivery. It runs with the system's concurrency:
 * one pg-boss queue per endpoint, at most `maxInFlight` requests per endpoint, a fetch per
 * endpoint for as many jobs as it has free slots (at most `fetchBatchMax`), results recorded in
 * batches (one multi-row INSERT and one complete per endpoint and batch).
 */
import { createHmac, randomBytes } from 'node:crypto';
import { Agent } from 'undici';
import PgBoss from 'pg-boss';
import { serve } from '../lib/ipc.js';

interface EndpointSpec {
  queue: string;
  url: string;
  /** whsec_... */
  secret: string;
}

interface Result {
  jobId: string;
  startedAt: Date;
  durationMs: number;
  status: number | null;
  requestHeaders: string;
  responseHeaders: string | null;
  error: string | null;
}

interface Loop {
  spec: EndpointSpec;
  key: Buffer;
  origin: string;
  path: string;
  inFlight: number;
  fetching: boolean;
  flushing: boolean;
  results: Result[];
  timer: NodeJS.Timeout | null;
}

const agent = new Agent({ connections: null, keepAliveTimeout: 60_000 });
let boss: PgBoss | null = null;
let loops: Loop[] = [];
let running = false;
let maxInFlight = 16;
let fetchBatchMax = 64;
let maxBacklog = 20_000;
let backlog = 0;
const counts = { sent: 0, ok: 0, failed: 0, recorded: 0, fetches: 0, emptyFetches: 0, flushes: 0, errors: 0 };
let lastError: string | null = null;
let orgId = 'org_bench_ceiling';

function requestFetch(l: Loop): void {
  if (!running || l.fetching) return;
  const free = maxInFlight - l.inFlight;
  if (free <= 0 || backlog > maxBacklog) return;
  l.fetching = true;
  const limit = Math.min(free, fetchBatchMax);
  l.inFlight += limit;
  counts.fetches++;
  boss!.fetch<{ i: string; b: string }>(l.spec.queue, { batchSize: limit }).then(
    (jobs) => {
      l.inFlight -= limit - jobs.length;
      l.fetching = false;
      if (jobs.length === 0) {
        counts.emptyFetches++;
        // No NOTIFY in the bare loop: look again shortly.
        if (!l.timer) l.timer = setTimeout(() => ((l.timer = null), requestFetch(l)), 5);
        return;
      }
      for (const job of jobs) void send(l, job.id, job.data);
      requestFetch(l);
    },
    (err: Error) => {
      l.inFlight -= limit;
      l.fetching = false;
      counts.errors++;
      lastError = err.message;
      setTimeout(() => requestFetch(l), 100);
    },
  );
}

async function send(l: Loop, jobId: string, data: { i: string; b: string }): Promise<void> {
  const startedAt = new Date();
  const t0 = performance.now();
  const timestamp = Math.floor(startedAt.getTime() / 1000);
  const signature = `v1,${createHmac('sha256', l.key).update(`${data.i}.${timestamp}.${data.b}`).digest('base64')}`;
  const headers = {
    'content-type': 'application/json',
    'user-agent': 'org-webhooks-bench-ceiling',
    'webhook-id': data.i,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': signature,
  };
  let status: number | null = null;
  let responseHeaders: string | null = null;
  let error: string | null = null;
  try {
    const res = await agent.request({ origin: l.origin, path: l.path, method: 'POST', headers, body: data.b, headersTimeout: 15_000, bodyTimeout: 15_000 });
    await res.body.text();
    status = res.statusCode;
    responseHeaders = JSON.stringify(res.headers);
  } catch (err) {
    error = (err as Error).message;
  }
  counts.sent++;
  if (status !== null && status >= 200 && status < 300) counts.ok++;
  else counts.failed++;
  l.results.push({ jobId, startedAt, durationMs: Math.round(performance.now() - t0), status, requestHeaders: JSON.stringify(headers), responseHeaders, error });
  backlog++;
  l.inFlight--;
  void flush(l);
  requestFetch(l);
}

async function flush(l: Loop): Promise<void> {
  if (l.flushing) return;
  l.flushing = true;
  try {
    while (l.results.length > 0) {
      const batch = l.results;
      l.results = [];
      const db = boss!.getDb();
      const n = batch.length;
      await db.executeSql(
        `INSERT INTO delivery_attempts (id, org_id, delivery_id, endpoint_id, event_type, attempt_number, trigger, started_at,
           duration_ms, succeeded, request_headers, response_status, response_headers, response_body, error_class, error_message)
         SELECT x.id, $1, x.delivery_id, $2, 'bench.ceiling', 1, 'SCHEDULED', x.started_at, x.duration_ms, x.ok,
           x.request_headers::jsonb, x.status, x.response_headers::jsonb, '', NULL, x.error
         FROM unnest($3::text[], $4::text[], $5::timestamptz[], $6::int[], $7::bool[], $8::text[], $9::int[], $10::text[], $11::text[])
           AS x(id, delivery_id, started_at, duration_ms, ok, request_headers, status, response_headers, error)`,
        [
          orgId,
          l.spec.queue,
          batch.map(() => `att_${randomBytes(12).toString('hex')}`),
          batch.map((r) => r.jobId),
          batch.map((r) => r.startedAt.toISOString()),
          batch.map((r) => r.durationMs),
          batch.map((r) => r.status !== null && r.status >= 200 && r.status < 300),
          batch.map((r) => r.requestHeaders),
          batch.map((r) => r.status),
          batch.map((r) => r.responseHeaders),
          batch.map((r) => r.error),
        ],
      );
      await boss!.complete(l.spec.queue, batch.map((r) => r.jobId));
      counts.recorded += n;
      counts.flushes++;
      backlog -= n;
    }
  } catch (err) {
    counts.errors++;
    lastError = (err as Error).message;
  } finally {
    l.flushing = false;
  }
  if (l.results.length) void flush(l);
  // Recording made room under the backlog cap: fetch again.
  for (const other of loops) requestFetch(other);
}

serve({
  async setup(arg: { databaseUrl: string; endpoints: EndpointSpec[]; maxInFlight: number; fetchBatchMax: number; poolSize: number; orgId: string }) {
    if (!boss) {
      boss = new PgBoss({ connectionString: arg.databaseUrl, max: arg.poolSize, supervise: false, schedule: false, migrate: false, application_name: 'bench-ceiling' });
      boss.on('error', (err) => {
        lastError = err.message;
      });
      await boss.start();
    }
    maxInFlight = arg.maxInFlight;
    fetchBatchMax = arg.fetchBatchMax;
    orgId = arg.orgId;
    loops = [];
    for (const spec of arg.endpoints) {
      await boss.createQueue(spec.queue, { name: spec.queue, policy: 'standard', retryLimit: 0 } as never);
      const url = new URL(spec.url);
      loops.push({
        spec,
        key: Buffer.from(spec.secret.replace(/^whsec_/, ''), 'base64'),
        origin: url.origin,
        path: url.pathname,
        inFlight: 0,
        fetching: false,
        flushing: false,
        results: [],
        timer: null,
      });
    }
  },
  start() {
    running = true;
    for (const k of Object.keys(counts) as (keyof typeof counts)[]) counts[k] = 0;
    for (const l of loops) requestFetch(l);
  },
  counts: () => ({ ...counts, lastError }),
  async stop() {
    running = false;
    for (const l of loops) if (l.timer) clearTimeout(l.timer);
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline && loops.some((l) => l.inFlight > 0 || l.flushing || l.results.length > 0 || l.fetching)) {
      await new Promise((r) => setTimeout(r, 20));
    }
    return { ...counts, lastError };
  },
  async close() {
    await boss?.stop({ graceful: false, close: true, wait: true }).catch(() => {});
    await agent.close();
  },
});
