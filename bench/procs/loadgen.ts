/**
 * The load generator, a process of its own. It publishes through the public GraphQL API
 * (`publishEvents`, keep-alive HTTP) exactly as the platform would, in four shapes:
 * - flow-controlled ("as fast as the system delivers"): keeps at most `window` deliveries
 *   published and not yet received, so the queue never runs dry and never grows without bound;
 * - open loop: fixed-size batches on a fixed schedule, never waiting for answers, recording when
 *   each event was scheduled (latency is measured from there, so a slow publish counts);
 * - ingest: closed loop of 1,000-event batches, as fast as they are accepted;
 * - bulk: a deep backlog written through the engine's own publish path (no HTTP);
 * and, for the bare ceiling loop, events and jobs written straight into its plain tables in one
 * durable statement per call (bench/lib/ceilingSql.ts), in the same batch shape as the system's.
 */
import { Pool } from 'undici';
import type { Sql } from 'postgres';
import { openPostgres } from '../../server/db/client.js';
import { publishToCeiling } from '../lib/ceilingSql.js';
import { nowMs, serve } from '../lib/ipc.js';
import { payloadOf } from '../lib/payload.js';
import { connectDatabase, type Database } from '../../server/db/client.js';
import { createDeliveryJobs } from '../../server/db/repos/deliveryJobs.js';
import { createWakeSender } from '../../server/db/notifications.js';
import { createPublisher, type Publisher } from '../../server/engine/publish.js';

const PUBLISH = 'mutation($inputs: [PublishEventInput!]!) { publishEvents(inputs: $inputs) { deliveryCount event { id } } }';
const PAYLOAD_JSON = JSON.stringify(payloadOf());

let pool: Pool | null = null;
let apiKey = '';
let databaseUrl = '';
let orgId = '';

interface PublishResult {
  events: { id: string; deliveries: number }[];
}

/** One publishEvents call with `count` events of the given types (cycled); throws on any error. */
async function publishBatch(types: string[], count: number, offset = 0): Promise<PublishResult> {
  const inputs: string[] = [];
  for (let i = 0; i < count; i++) inputs.push(`{"type":${JSON.stringify(types[(offset + i) % types.length])},"data":${PAYLOAD_JSON}}`);
  const body = `{"query":${JSON.stringify(PUBLISH)},"variables":{"inputs":[${inputs.join(',')}]}}`;
  const res = await pool!.request({
    path: '/graphql',
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKey}` },
    body,
  });
  const text = await res.body.text();
  const json = JSON.parse(text) as { data?: { publishEvents: { deliveryCount: number; event: { id: string } }[] }; errors?: unknown[] };
  if (json.errors?.length || !json.data) throw new Error(`publishEvents failed (${res.statusCode}): ${text.slice(0, 500)}`);
  return { events: json.data.publishEvents.map((p) => ({ id: p.event.id, deliveries: p.deliveryCount })) };
}

// ---------------------------------------------------------------------------------------------
// Flow-controlled publishing
interface FlowSpec {
  /** 'graphql': publishEvents of `type`; 'ceiling': events and jobs into the ceiling's tables. */
  kind: 'graphql' | 'ceiling';
  type?: string;
  /** Ceiling endpoints `firstEndpoint` .. `firstEndpoint + countPerEvent - 1`. */
  firstEndpoint?: number;
  /** Deliveries per event that the receiver will count (fan-out to healthy endpoints). */
  countPerEvent: number;
  /** Events per publish call. */
  batchEvents: number;
  concurrency: number;
  /** Most deliveries published and not yet received. */
  window: number;
}

let flow: {
  spec: FlowSpec;
  running: boolean;
  received: number;
  publishedDeliveries: number;
  inflightDeliveries: number;
  events: number;
  calls: number;
  errors: number;
  lastError: string | null;
  callMs: number[];
  loops: Promise<void>[];
  wake: (() => void) | null;
} | null = null;

let ceilingSql: Sql | null = null;
let eventSeq = 0;

/** One publish call of the ceiling: `events` envelopes (1 KiB payloads), each to every endpoint. */
async function publishCeiling(firstEndpoint: number, endpoints: number, events: number): Promise<void> {
  const batch: { id: string; body: string }[] = [];
  const timestamp = new Date().toISOString();
  for (let e = 0; e < events; e++) {
    const id = `evt_bench${process.pid}_${eventSeq++}`;
    batch.push({ id, body: `{"id":"${id}","type":"bench.ceiling","timestamp":"${timestamp}","data":${PAYLOAD_JSON}}` });
  }
  await publishToCeiling(ceilingSql!, batch, firstEndpoint, endpoints);
}

async function flowLoop(): Promise<void> {
  const f = flow!;
  const { spec } = f;
  const batchDeliveries = spec.batchEvents * spec.countPerEvent;
  while (f.running) {
    // A deliberate backlog queued before the flow started stays as deep as it was: the receiver
    // counts from the flow's start, so the window is kept on top of it.
    const outstanding = f.publishedDeliveries + f.inflightDeliveries - f.received;
    if (outstanding + batchDeliveries > spec.window) {
      await new Promise<void>((resolve) => {
        f.wake = resolve;
        setTimeout(resolve, 50);
      });
      continue;
    }
    f.inflightDeliveries += batchDeliveries;
    const started = nowMs();
    try {
      if (spec.kind === 'graphql') await publishBatch([spec.type!], spec.batchEvents);
      else await publishCeiling(spec.firstEndpoint!, spec.countPerEvent, spec.batchEvents);
      f.publishedDeliveries += batchDeliveries;
      f.events += spec.batchEvents;
      f.calls++;
      if (f.callMs.length < 100_000) f.callMs.push(nowMs() - started);
    } catch (err) {
      f.errors++;
      f.lastError = (err as Error).message;
      await new Promise((r) => setTimeout(r, 100));
    } finally {
      f.inflightDeliveries -= batchDeliveries;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Open-loop publishing
let open: {
  running: boolean;
  /** event id → scheduled publish time (ms) */
  scheduled: Map<string, number>;
  /** event id → when its publish call returned (ms) */
  accepted: Map<string, number>;
  callMs: number[];
  calls: number;
  late: number;
  errors: number;
  lastError: string | null;
  inflight: Set<Promise<void>>;
  timer: NodeJS.Timeout | null;
} | null = null;

function startOpen(spec: { types: string[]; ratePerSecond: number; batchEvents: number; track: boolean }): void {
  const intervalMs = (spec.batchEvents / spec.ratePerSecond) * 1000;
  const o: NonNullable<typeof open> = {
    running: true,
    scheduled: new Map(),
    accepted: new Map(),
    callMs: [],
    calls: 0,
    late: 0,
    errors: 0,
    lastError: null,
    inflight: new Set(),
    timer: null,
  };
  open = o;
  const start = nowMs() + 5;
  let k = 0;
  const tick = () => {
    if (!o.running) return;
    const due = start + k * intervalMs;
    const now = nowMs();
    if (now - due > intervalMs) o.late++;
    const offset = k * spec.batchEvents;
    k++;
    const sentAt = nowMs();
    const p = publishBatch(spec.types, spec.batchEvents, offset).then(
      (r) => {
        o.calls++;
        const at = nowMs();
        o.callMs.push(at - sentAt);
        if (spec.track) {
          for (const e of r.events) {
            o.scheduled.set(e.id, due);
            o.accepted.set(e.id, at);
          }
        }
      },
      (err: Error) => {
        o.errors++;
        o.lastError = err.message;
      },
    );
    o.inflight.add(p);
    void p.finally(() => o.inflight.delete(p));
    o.timer = setTimeout(tick, Math.max(0, start + k * intervalMs - nowMs()));
  };
  o.timer = setTimeout(tick, Math.max(0, start - nowMs()));
}

// ---------------------------------------------------------------------------------------------
let database: Database | null = null;
let publisher: Publisher | null = null;

serve({
  async init(arg: { apiUrl: string; apiKey: string; databaseUrl: string; orgId: string }) {
    pool = new Pool(arg.apiUrl, { connections: 8, pipelining: 1, keepAliveTimeout: 60_000 });
    apiKey = arg.apiKey;
    databaseUrl = arg.databaseUrl;
    orgId = arg.orgId;
  },

  async flowStart(spec: FlowSpec) {
    // Durable commits (synchronous_commit on), as the system's publish.
    if (spec.kind === 'ceiling') ceilingSql ??= openPostgres(databaseUrl, { max: 2, onnotice: () => {}, connection: { application_name: 'bench-loadgen' } });
    flow = {
      spec,
      running: true,
      received: 0,
      publishedDeliveries: 0,
      inflightDeliveries: 0,
      events: 0,
      calls: 0,
      errors: 0,
      lastError: null,
      callMs: [],
      loops: [],
      wake: null,
    };
    for (let i = 0; i < spec.concurrency; i++) flow.loops.push(flowLoop());
  },
  /** Deliveries counted by the receiver since the flow started (sent by the orchestrator). */
  received(count: number) {
    if (!flow) return { published: 0 };
    flow.received = count;
    flow.wake?.();
    return { published: flow.publishedDeliveries };
  },
  async flowStop() {
    if (!flow) return null;
    const f = flow;
    f.running = false;
    f.wake?.();
    await Promise.all(f.loops);
    flow = null;
    return { events: f.events, deliveries: f.publishedDeliveries, calls: f.calls, errors: f.errors, lastError: f.lastError, callMs: f.callMs };
  },

  openStart(spec: { types: string[]; ratePerSecond: number; batchEvents: number; track: boolean }) {
    startOpen(spec);
  },
  async openStop() {
    if (!open) return null;
    const o = open;
    o.running = false;
    if (o.timer) clearTimeout(o.timer);
    await Promise.all([...o.inflight]);
    open = null;
    return { scheduled: o.scheduled, accepted: o.accepted, callMs: o.callMs, calls: o.calls, late: o.late, errors: o.errors, lastError: o.lastError };
  },

  /** Closed-loop publishEvents of `batchEvents` events, `concurrency` calls at once, for `durationMs`. */
  async ingest(spec: { type: string; batchEvents: number; concurrency: number; durationMs: number; warmupMs: number }) {
    let events = 0;
    let calls = 0;
    let errors = 0;
    let lastError: string | null = null;
    const callMs: number[] = [];
    const start = nowMs();
    const measureFrom = start + spec.warmupMs;
    const end = measureFrom + spec.durationMs;
    let measuredEvents = 0;
    let firstAt = 0;
    let lastAt = 0;
    const loop = async () => {
      while (nowMs() < end) {
        const t0 = nowMs();
        try {
          const r = await publishBatch([spec.type], spec.batchEvents);
          const t1 = nowMs();
          events += r.events.length;
          calls++;
          callMs.push(t1 - t0);
          // A call counts when it both started and ended inside the measured window.
          if (t0 >= measureFrom && t1 <= end) {
            measuredEvents += r.events.length;
            if (!firstAt) firstAt = t0;
            lastAt = t1;
          }
        } catch (err) {
          errors++;
          lastError = (err as Error).message;
        }
      }
    };
    await Promise.all(Array.from({ length: spec.concurrency }, loop));
    // Rate over the measured calls: events accepted / time from the first measured call's start
    // to the last measured call's end.
    if (measuredEvents === 0) {
      // Calls longer than the window (tiny smoke runs, a crawling machine): use every call.
      const seconds = (nowMs() - start) / 1000;
      return { events, calls, errors, lastError, callMs, eventsPerSecond: events / seconds, measuredEvents: events, seconds };
    }
    const seconds = (lastAt - firstAt) / 1000;
    return { events, calls, errors, lastError, callMs, eventsPerSecond: measuredEvents / seconds, measuredEvents, seconds };
  },

  /**
   * Writes `deliveries` deliveries (events of `type` fanned out to its endpoints) through the
   * engine's publish path directly, in transactions of `batchEvents` events.
   */
  async bulk(spec: { type: string; deliveries: number; batchEvents: number; concurrency: number }) {
    if (!database) {
      database = connectDatabase({ url: databaseUrl, poolSize: 4, applicationName: 'bench-bulk' });
      publisher = createPublisher({
        database,
        jobs: createDeliveryJobs(database.sql),
        wake: createWakeSender(database.signalSql, (err) => process.stderr.write(`bulk: could not wake the workers: ${err.message}\n`)),
      });
    }
    const data = payloadOf();
    let written = 0;
    const started = nowMs();
    const loop = async () => {
      while (written < spec.deliveries) {
        const outcomes = await publisher!.publish(
          orgId,
          Array.from({ length: spec.batchEvents }, () => ({ type: spec.type, data })),
        );
        for (const o of outcomes) written += o.deliveryCount;
      }
    };
    await Promise.all(Array.from({ length: spec.concurrency }, loop));
    return { deliveries: written, seconds: (nowMs() - started) / 1000 };
  },

  async close() {
    await pool?.close();
    await ceilingSql?.end({ timeout: 2 });
    await database?.close();
  },
});
