import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { EngineObserver } from './engine/worker/index.js';
import type { PubSubObserver } from './graphql/pubsub.js';
import { DELIVERY_LAG_KINDS, type DeliveryLag } from './engine/deliveryLag.js';

/** What /metrics samples from the database and the process when it is scraped. */
export interface MetricSources {
  /** engine.jobs.depth(): waiting and leased jobs, age of the oldest due one. */
  queueDepth?: () => Promise<{ waiting: number; active: number; oldestDueAgeSeconds: number }>;
  /** engine.deliveryLag(): how long the oldest due, undelivered job has waited, in total and by kind. */
  deliveryLag?: () => Promise<DeliveryLag>;
  /** Endpoints (not deleted) per circuit state, and how many are paused or disabled. */
  endpointStates?: () => Promise<{ circuit: Record<string, number>; inactive: number }>;
  /** The worker role (give it only where the role runs): endpoint slots held, requests in flight. */
  worker?: () => { ownedSlots: number; inFlight: number; endpointStates: number; cachedRuntimes: number } | null;
  /** The api role (give it only where the role runs): live subscribers per topic, listener state. */
  live?: () => { subscribers: Record<string, number>; listening: boolean } | null;
  /** History tables: estimated rows, bytes, partitions, oldest partition start (catalog reads only). */
  history?: () => Promise<HistorySize[]>;
}

/** One history table's size as /metrics reports it (db/repos/historyPartitions.ts sizes()). */
export interface HistorySize {
  table: string;
  rows: number;
  bytes: number;
  partitions: number;
  oldestMs: number | null;
  newestEndMs: number | null;
}

// Publish → 2xx spans a 1 ms loopback hop to hours of retries; attempts end by 30 s (max timeout).
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 1800, 3600];
const ATTEMPT_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15, 30];
const LIVE_LAG_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5];
const CIRCUIT_STATES = ['CLOSED', 'OPEN', 'HALF_OPEN'] as const;
/** Database samples are shared by concurrent scrapes and reused this long: scrapes never load the database. */
const SAMPLE_TTL_MS = 5_000;
/** History sizes change by the hour: sampled at most once a minute (a catalog query over every partition). */
const HISTORY_SAMPLE_TTL_MS = 60_000;
const SAMPLE_TIMEOUT_MS = 3_000;

/**
 * The Prometheus metrics of one process, served at /metrics on every role. Hot-path values arrive
 * through the engine's observer hooks (labels are low-cardinality: outcome, error class, trigger,
 * never an endpoint id); queue depth and breaker states are sampled from the database on scrape.
 */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  let sources: MetricSources = {};

  const attempts = new Counter({
    name: 'webhooks_attempts_total',
    help: 'Delivery attempts made by this process, by outcome (success|failure), error class and trigger.',
    labelNames: ['outcome', 'error_class', 'trigger'] as const,
    registers: [registry],
  });
  const deliveries = new Counter({
    name: 'webhooks_deliveries_total',
    help: 'Deliveries finished by this process: succeeded, or dead (attempts exhausted) with the last error class.',
    labelNames: ['outcome', 'error_class'] as const,
    registers: [registry],
  });
  const deliveryLatency = new Histogram({
    name: 'webhooks_delivery_latency_seconds',
    help: 'Publish to successful (2xx) attempt, retries included.',
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  const attemptDuration = new Histogram({
    name: 'webhooks_attempt_duration_seconds',
    help: 'Duration of one HTTP attempt, by outcome.',
    labelNames: ['outcome'] as const,
    buckets: ATTEMPT_BUCKETS,
    registers: [registry],
  });
  const breakerTransitions = new Counter({
    name: 'webhooks_breaker_transitions_total',
    help: 'Circuit breaker transitions made by this process, by the state entered.',
    labelNames: ['state'] as const,
    registers: [registry],
  });
  const liveMessages = new Counter({
    name: 'webhooks_live_messages_total',
    help: 'Messages handed to live (graphql-ws) subscribers, by topic.',
    labelNames: ['topic'] as const,
    registers: [registry],
  });
  const liveDropped = new Counter({
    name: 'webhooks_live_dropped_total',
    help: 'Live messages dropped because a subscriber or the process fell behind, by topic.',
    labelNames: ['topic'] as const,
    registers: [registry],
  });
  const liveRowLoads = new Counter({
    name: 'webhooks_live_row_loads_total',
    help: 'Queries live streams made for fields their notifications did not carry (at most one per notification batch and kind of row), by rows (attempts|endpoints).',
    labelNames: ['rows'] as const,
    registers: [registry],
  });
  const liveLag = new Histogram({
    name: 'webhooks_live_lag_seconds',
    help: 'Attempt recorded (worker commit) to handed to subscribers on this api process.',
    buckets: LIVE_LAG_BUCKETS,
    registers: [registry],
  });
  const graphqlDuration = new Histogram({
    name: 'webhooks_graphql_request_duration_seconds',
    help: 'GraphQL queries and mutations by type (query|mutation|unknown) and outcome (ok|error); subscriptions are not timed.',
    labelNames: ['type', 'outcome'] as const,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const sampleErrors = new Counter({
    name: 'webhooks_metrics_sample_errors_total',
    help: 'Scrapes whose database sample failed (the previous values were served).',
    registers: [registry],
  });

  let sample: { atMs: number; value: Promise<DbSample> } | null = null;
  let lastGood: DbSample = { queue: null, endpoints: null, lag: null };
  /** Whether the last database sample answered (null before the first). */
  let databaseUp: boolean | null = null;
  function dbSample(): Promise<DbSample> {
    if (sample && Date.now() - sample.atMs < SAMPLE_TTL_MS) return sample.value;
    const value = (async () => {
      try {
        const [queue, endpoints, lag] = await withTimeout(
          Promise.all([sources.queueDepth?.() ?? null, sources.endpointStates?.() ?? null, sources.deliveryLag?.() ?? null]),
        );
        lastGood = { queue, endpoints, lag };
        databaseUp = true;
      } catch {
        sampleErrors.inc();
        databaseUp = false;
      }
      return lastGood;
    })();
    sample = { atMs: Date.now(), value };
    return value;
  }

  let historySample: { atMs: number; value: Promise<HistorySize[] | null> } | null = null;
  let lastHistory: HistorySize[] | null = null;
  function historySizes(): Promise<HistorySize[] | null> {
    if (historySample && Date.now() - historySample.atMs < HISTORY_SAMPLE_TTL_MS) return historySample.value;
    const value = (async () => {
      try {
        lastHistory = (await withTimeout(sources.history?.() ?? Promise.resolve(null))) ?? lastHistory;
      } catch {
        sampleErrors.inc();
      }
      return lastHistory;
    })();
    historySample = { atMs: Date.now(), value };
    return value;
  }

  const gauge = (name: string, help: string, collect: (g: Gauge<string>) => void | Promise<void>, labelNames: string[] = []) =>
    new Gauge({
      name,
      help,
      labelNames,
      registers: [registry],
      async collect() {
        await collect(this);
      },
    });
  gauge('webhooks_database_up', '1 when the last database sample of this process (taken on scrape, at most every 5 s) answered within 3 s, else 0.', async (g) => {
    await dbSample();
    if (databaseUp !== null) g.set(databaseUp ? 1 : 0);
  });
  gauge('webhooks_queue_waiting_jobs', 'Delivery jobs queued (due or scheduled), all endpoints (same value on every process).', async (g) => {
    const q = (await dbSample()).queue;
    if (q) g.set(q.waiting);
  });
  gauge('webhooks_queue_active_jobs', 'Delivery jobs leased by workers, all endpoints.', async (g) => {
    const q = (await dbSample()).queue;
    if (q) g.set(q.active);
  });
  gauge('webhooks_queue_oldest_due_age_seconds', 'Age of the oldest job that is due and not yet taken (0 when none).', async (g) => {
    const q = (await dbSample()).queue;
    if (q) g.set(q.oldestDueAgeSeconds);
  });
  gauge(
    'webhooks_delivery_lag_seconds',
    'How long the oldest due, undelivered delivery job has waited past its due time (its publish for a first attempt, its backoff for a retry), by kind (first_attempt|retry|manual); kind="all" is the oldest of any kind. Same value on every process: aggregate with max.',
    async (g) => {
      const lag = (await dbSample()).lag;
      if (!lag) return;
      // A kind the source stopped reporting must not keep its last value.
      g.reset();
      g.set({ kind: 'all' }, lag.oldestDueSeconds);
      for (const kind of DELIVERY_LAG_KINDS) {
        const seconds = lag.byKind?.[kind];
        if (seconds !== undefined) g.set({ kind }, seconds);
      }
    },
    ['kind'],
  );
  gauge(
    'webhooks_endpoints_circuit',
    'Endpoints (not deleted) per circuit breaker state.',
    async (g) => {
      const e = (await dbSample()).endpoints;
      if (e) for (const state of CIRCUIT_STATES) g.set({ state }, e.circuit[state] ?? 0);
    },
    ['state'],
  );
  gauge('webhooks_endpoints_inactive', 'Endpoints paused by hand or disabled (410 Gone, breaker open 5 days).', async (g) => {
    const e = (await dbSample()).endpoints;
    if (e) g.set(e.inactive);
  });
  const historyGauge = (name: string, help: string, value: (h: HistorySize) => number | null) =>
    gauge(
      name,
      help,
      async (g) => {
        for (const h of (await historySizes()) ?? []) {
          const v = value(h);
          if (v !== null) g.set({ table: h.table }, v);
        }
      },
      ['table'],
    );
  historyGauge('webhooks_history_rows', "Rows of each history table (Postgres's estimate, as of its last vacuum or analyze).", (h) => h.rows);
  historyGauge('webhooks_history_bytes', 'Disk used by each history table: heap, TOAST and indexes of every partition.', (h) => h.bytes);
  historyGauge('webhooks_history_partitions', 'Partitions of each history table (days, the DEFAULT partition, a legacy one after migration).', (h) => h.partitions);
  historyGauge('webhooks_history_ready_ahead_seconds', 'Time until the end of the newest day partition of each history table (maintenance keeps 3 days and more ready).', (h) =>
    h.newestEndMs === null ? null : (h.newestEndMs - Date.now()) / 1000,
  );
  historyGauge('webhooks_history_oldest_age_seconds', 'Age of the oldest partition of each history table (retention drops it past WEBHOOKS_HISTORY_RETENTION_DAYS).', (h) =>
    h.oldestMs === null ? null : Math.max(0, (Date.now() - h.oldestMs) / 1000),
  );
  // Role-specific gauges exist only on processes running the role: an unlabelled gauge would
  // otherwise read 0 elsewhere (a worker's "listener down", an api's "no slots").
  const roleGauges = { worker: false, live: false };
  function registerRoleGauges(): void {
    if (sources.worker && !roleGauges.worker) {
      roleGauges.worker = true;
      gauge('webhooks_worker_owned_slots', 'Endpoint slots (of 256) this worker holds.', (g) => {
        const w = sources.worker?.();
        if (w) g.set(w.ownedSlots);
      });
      gauge('webhooks_worker_in_flight', 'Jobs this worker has taken and not finished.', (g) => {
        const w = sources.worker?.();
        if (w) g.set(w.inFlight);
      });
      gauge('webhooks_worker_endpoint_states', 'Endpoints this worker keeps state for (those with work, or idle under 30 s).', (g) => {
        const w = sources.worker?.();
        if (w) g.set(w.endpointStates);
      });
      gauge('webhooks_worker_cached_runtimes', 'Endpoint runtimes (settings, decrypted keys) this worker caches (WEBHOOKS_ENDPOINT_CACHE_SIZE).', (g) => {
        const w = sources.worker?.();
        if (w) g.set(w.cachedRuntimes);
      });
    }
    if (sources.live && !roleGauges.live) {
      roleGauges.live = true;
      gauge(
        'webhooks_live_subscribers',
        'Live (graphql-ws) subscriptions open on this process, by topic.',
        (g) => {
          const live = sources.live?.();
          if (live) for (const [topic, n] of Object.entries(live.subscribers)) g.set({ topic }, n);
        },
        ['topic'],
      );
      gauge('webhooks_live_listener_up', '1 while this api process receives LISTEN/NOTIFY messages.', (g) => {
        const live = sources.live?.();
        if (live) g.set(live.listening ? 1 : 0);
      });
    }
  }

  const engineObserver: EngineObserver = {
    attempt(a) {
      const outcome = a.succeeded ? 'success' : 'failure';
      attempts.inc({ outcome, error_class: a.errorClass ?? 'none', trigger: a.trigger });
      attemptDuration.observe({ outcome }, a.durationMs / 1000);
      if (a.deliveryStatus === 'SUCCEEDED') deliveries.inc({ outcome: 'succeeded', error_class: 'none' });
      else if (a.deliveryStatus === 'DEAD') deliveries.inc({ outcome: 'dead', error_class: a.errorClass ?? 'none' });
      if (a.deliveryLatencyMs !== null) deliveryLatency.observe(Math.max(0, a.deliveryLatencyMs) / 1000);
    },
    breaker(_endpointId, state) {
      breakerTransitions.inc({ state });
    },
  };

  const liveObserver: PubSubObserver = {
    delivered(topic, raw, subscribers) {
      if (subscribers === 0) return;
      liveMessages.inc({ topic }, subscribers);
      if (topic === 'attempts' && raw.recordedAtMs) liveLag.observe(Math.max(0, Date.now() - raw.recordedAtMs) / 1000);
    },
    dropped(topic, count) {
      liveDropped.inc({ topic }, count);
    },
    rowsLoaded(rows) {
      liveRowLoads.inc({ rows });
    },
  };

  return {
    registry,
    engineObserver,
    liveObserver,
    /** One GraphQL operation finished (from the request log). */
    graphqlOperation(type: string, ok: boolean, durationMs: number): void {
      graphqlDuration.observe({ type, outcome: ok ? 'ok' : 'error' }, durationMs / 1000);
    },
    /** Wires what scrapes sample; parts absent on a role are simply not reported. */
    setSources(next: MetricSources): void {
      sources = { ...sources, ...next };
      sample = null;
      historySample = null;
      registerRoleGauges();
    },
  };
}
export type Metrics = ReturnType<typeof createMetrics>;

interface DbSample {
  queue: { waiting: number; active: number; oldestDueAgeSeconds: number } | null;
  lag: DeliveryLag | null;
  endpoints: { circuit: Record<string, number>; inactive: number } | null;
}

function withTimeout<T>(promise: Promise<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('metrics sample timed out')), SAMPLE_TIMEOUT_MS);
    promise.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}

