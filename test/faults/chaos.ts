/**
 * The chaos-receiver scenario shared by chaos.test.ts (a few hundred deliveries, in `npm test`)
 * and chaos.slow.test.ts (thousands): receivers that answer at random with 2xx, 4xx, 5xx, 429 +
 * Retry-After, redirects, hangs past the timeout, connection resets, slow bodies (in and past the
 * deadline), a TLS server the service does not trust, a port nobody listens on, and a 410 Gone.
 * Every delivery must end SUCCEEDED or DEAD, and attempts must reconcile EXACTLY with what the
 * receivers saw: one attempt per request received (classified as the receiver behaved) plus one
 * per transport failure that never reached a receiver.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { expect } from 'vitest';
import { startTestService, type TestService } from '../helpers/service.js';
import { startReceiver, type Receiver, type ResponseSpec } from '../helpers/receiver.js';
import { getTestCertificates } from '../helpers/certs.js';
import { createEndpoint, waitUntil } from '../helpers/flows.js';
import { freePort } from '../helpers/processes.js';
import { captureLogs, seededRandom } from './support.js';

type Kind = 'ok' | 'status' | 'throttled' | 'hang' | 'reset' | 'slowOk' | 'slowTimeout' | 'redirect' | 'gone';

interface Behaviour {
  kind: Kind;
  status?: number;
}

/** What an attempt must look like after the receiver behaved so. */
function expectedOf(b: Behaviour): { succeeded: boolean; errorClass: string | null; status: number | null } {
  switch (b.kind) {
    case 'ok':
    case 'slowOk':
      return { succeeded: true, errorClass: null, status: b.status ?? 200 };
    case 'status':
    case 'throttled':
    case 'redirect':
    case 'gone':
      return { succeeded: false, errorClass: 'HTTP_STATUS', status: b.status! };
    case 'hang':
    case 'slowTimeout':
      return { succeeded: false, errorClass: 'TIMEOUT', status: null };
    case 'reset':
      return { succeeded: false, errorClass: 'CONNECTION', status: null };
  }
}

function pick(random: () => number, table: [number, () => Behaviour][]): Behaviour {
  const total = table.reduce((n, [w]) => n + w, 0);
  let r = random() * total;
  for (const [w, make] of table) {
    r -= w;
    if (r < 0) return make();
  }
  return table[table.length - 1]![1]();
}

export interface ChaosOptions {
  seed: number;
  /** Events published to the mixed endpoints (each receives all of them). */
  events: number;
  mixedEndpoints: number;
  maxAttempts: number;
  /** Events to the TLS-failure and connection-refused endpoints, and to the 410 endpoint. */
  transportEvents: number;
  goneEvents: number;
  timeoutMs?: number;
}

export interface ChaosFigures {
  seed: number;
  deliveries: number;
  succeeded: number;
  dead: number;
  attempts: number;
  requestsSeen: number;
  transportFailuresUnseen: number;
  byBehaviour: Record<string, number>;
  byErrorClass: Record<string, number>;
  lost: number;
  /** Requests that reached the receiver so close to the sender's deadline that either outcome is right. */
  lateArrivals: number;
  /** Requests seen more than 500 ms after their attempt started, and how many opened a new connection. */
  delayedRequests: number;
  delayedOnNewConnection: number;
  maxEventLoopDelayMs: number;
  durationMs: number;
}

export async function runChaos(options: ChaosOptions): Promise<ChaosFigures> {
  const started = Date.now();
  // Service and receivers share this process: a stalled event loop delays both, which the
  // reconciliation below must tell apart from the behaviour the receiver chose.
  const loopDelay = monitorEventLoopDelay({ resolution: 10 });
  loopDelay.enable();
  const random = seededRandom(options.seed);
  const timeoutMs = options.timeoutMs ?? 1000;
  const behaviours: Behaviour[] = [];
  const statuses = [400, 404, 409, 500, 502, 503];
  const redirects = [301, 302, 307, 308];
  const mixed: [number, () => Behaviour][] = [
    [40, () => ({ kind: 'ok', status: random() < 0.8 ? 200 : 204 })],
    [14, () => ({ kind: 'status', status: statuses[Math.floor(random() * statuses.length)]! })],
    [4, () => ({ kind: 'throttled', status: 429 })],
    [8, () => ({ kind: 'hang' })],
    [8, () => ({ kind: 'reset' })],
    [7, () => ({ kind: 'slowOk', status: 200 })],
    [5, () => ({ kind: 'slowTimeout' })],
    [7, () => ({ kind: 'redirect', status: redirects[Math.floor(random() * redirects.length)]! })],
  ];
  // The breaker endpoint fails less, so its probes mostly succeed and the test stays short.
  const gentle: [number, () => Behaviour][] = [
    [75, () => ({ kind: 'ok', status: 200 })],
    [10, () => ({ kind: 'status', status: 500 })],
    [8, () => ({ kind: 'reset' })],
    [7, () => ({ kind: 'hang' })],
  ];
  let goneAnswered = false;

  const toSpec = (b: Behaviour, port: number): ResponseSpec => {
    switch (b.kind) {
      case 'ok':
        // A 204 carries no body (a body with its content-length would be a protocol error).
        return b.status === 204 ? { status: 204 } : { status: b.status, body: 'ok' };
      case 'status':
        return { status: b.status, body: `chaos ${b.status}` };
      case 'throttled':
        return { status: 429, headers: { 'retry-after': '1' } };
      case 'hang':
        return { hang: true };
      case 'reset':
        return { reset: true };
      case 'slowOk':
        return { status: 200, body: 'ok', slowBodyMs: 20 };
      case 'slowTimeout':
        return { status: 200, body: 'x'.repeat(20), slowBodyMs: Math.ceil(timeoutMs / 4) };
      case 'redirect':
        return { status: b.status, headers: { location: `http://127.0.0.1:${port}/redirected` } };
      case 'gone':
        return { status: 410 };
    }
  };

  let receiverPort = 0;
  const receiver: Receiver = await startReceiver({
    respond: (req, index) => {
      let b: Behaviour;
      if (req.path.startsWith('/gone')) {
        // 410 until the test has seen the endpoint disabled (a 410 answered to a request that
        // arrived after its deadline would otherwise be lost to a timeout), 200 after.
        b = goneAnswered ? { kind: 'ok', status: 200 } : { kind: 'gone', status: 410 };
      } else if (req.path.startsWith('/breaker')) {
        b = pick(random, gentle);
      } else {
        b = pick(random, mixed);
      }
      behaviours[index] = b;
      return toSpec(b, receiverPort);
    },
  });
  receiverPort = receiver.port;
  const certs = await getTestCertificates();
  // A certificate from the test CA, which the service does not trust: every handshake fails.
  const untrusted = await startReceiver({ https: { key: certs.serverKeyPem, cert: certs.serverCertPem } });
  const closedPort = await freePort();
  // Errors the service logs are attached to a failure (they say why, when the API says "internal").
  const logs = captureLogs();
  const service: TestService = await startTestService({ LOG_LEVEL: 'error' }, { logDestination: logs.stream });
  try {
    const admin = service.client();
    const retryPolicy = { initialBackoffSeconds: 1, multiplier: 1, maxBackoffSeconds: 1, maxAttempts: options.maxAttempts };
    const common = { timeoutMs, retryPolicy, circuitBreaker: { enabled: false } };
    const paths = new Map<string, string>(); // endpoint id -> path or kind
    for (let i = 0; i < options.mixedEndpoints; i++) {
      const e = await createEndpoint(admin, { url: `${receiver.url}/mixed-${i}`, patterns: ['orchestration.job.queued'], ...common });
      paths.set(e.id, `/mixed-${i}`);
    }
    const breaker = await createEndpoint(admin, {
      url: `${receiver.url}/breaker`,
      patterns: ['orchestration.job.queued'],
      ...common,
      circuitBreaker: { enabled: true, failureThreshold: 3, cooldownSeconds: 1 },
    });
    paths.set(breaker.id, '/breaker');
    const tls = await createEndpoint(admin, { url: `${untrusted.url}/tls`, patterns: ['orchestration.lease.acquired'], ...common });
    paths.set(tls.id, 'TLS');
    const refused = await createEndpoint(admin, { url: `http://127.0.0.1:${closedPort}/refused`, patterns: ['orchestration.lease.acquired'], ...common });
    paths.set(refused.id, 'REFUSED');
    const gone = await createEndpoint(admin, { url: `${receiver.url}/gone`, patterns: ['orchestration.backfill.segment_completed'], ...common, maxInFlight: 1 });
    paths.set(gone.id, '/gone');

    const publishMany = async (type: string, count: number) => {
      for (let i = 0; i < count; i += 500) {
        const inputs = Array.from({ length: Math.min(500, count - i) }, (_, j) => ({ type, data: { i: i + j }, orderingKey: j % 7 === 0 ? `k${j % 3}` : undefined }));
        await admin.data(`mutation($inputs: [PublishEventInput!]!) { publishEvents(inputs: $inputs) { event { id } } }`, { inputs });
      }
    };
    await publishMany('orchestration.job.queued', options.events);
    await publishMany('orchestration.lease.acquired', options.transportEvents);
    await publishMany('orchestration.backfill.segment_completed', options.goneEvents);
    const expectedDeliveries = options.events * (options.mixedEndpoints + 1) + options.transportEvents * 2 + options.goneEvents;

    // 410: the endpoint is disabled at once; an operator resumes it and its backlog drains.
    const disabled = await waitUntil(
      'the 410 endpoint to be disabled',
      async () => {
        const e = (await admin.data(`query($id: ID!) { endpoint(id: $id) { active disabledReason } }`, { id: gone.id })).endpoint;
        return e.active ? null : e;
      },
      30_000,
    ).catch(async (err) => {
      const state = await service.database.sql`SELECT active, disabled_reason, circuit_state FROM endpoints WHERE id = ${gone.id}`;
      const ds = await service.database.sql`SELECT status, attempt_count FROM deliveries WHERE endpoint_id = ${gone.id}`;
      const at = await service.database.sql`SELECT attempt_number, error_class, response_status, error_message FROM delivery_attempts WHERE endpoint_id = ${gone.id}`;
      const jobs = await service.database.sql`SELECT state, start_after, retry_count FROM pgboss.job WHERE data->>'p' = ${gone.id}`;
      throw new Error(`${(err as Error).message}: ${JSON.stringify({ state, ds, at, jobs, gone: receiver.requests.filter((r) => r.path === '/gone').length })}`);
    });
    expect(disabled.disabledReason).toMatch(/410/);
    goneAnswered = true;
    await admin.data(`mutation($id: ID!) { resumeEndpoint(id: $id) { id active } }`, { id: gone.id });

    const budgetMs = 30_000 + options.events * options.mixedEndpoints * 15;
    await waitUntil(
      'every delivery to end SUCCEEDED or DEAD',
      async () => {
        const [row] = await service.database.sql<{ pending: number; total: number }[]>`
          SELECT count(*) FILTER (WHERE status NOT IN ('SUCCEEDED', 'DEAD'))::int AS pending, count(*)::int AS total
          FROM deliveries WHERE event_type LIKE 'orchestration.%'`;
        return row!.pending === 0 && row!.total === expectedDeliveries;
      },
      budgetMs,
    );

    // ---- reconciliation, delivery by delivery
    const deliveries = await service.database.sql<{ id: string; endpoint_id: string; event_id: string; status: string; attempt_count: number }[]>`
      SELECT id, endpoint_id, event_id, status, attempt_count FROM deliveries WHERE event_type LIKE 'orchestration.%'`;
    const attempts = await service.database.sql<
      { delivery_id: string; attempt_number: number; succeeded: boolean; error_class: string | null; response_status: number | null; error_message: string | null; started_at: Date; duration_ms: number }[]
    >`SELECT delivery_id, attempt_number, succeeded, error_class, response_status, error_message, started_at, duration_ms FROM delivery_attempts
      WHERE event_type LIKE 'orchestration.%' ORDER BY delivery_id, attempt_number`;
    const attemptsOf = new Map<string, (typeof attempts)[number][]>();
    for (const a of attempts) attemptsOf.set(a.delivery_id, [...(attemptsOf.get(a.delivery_id) ?? []), a]);
    const seen = new Map<string, { behaviour: Behaviour; receivedAtMs: number; newConnection: boolean }[]>();
    const connections = new Set<number>();
    receiver.requests.forEach((r, i) => {
      const key = `${r.path} ${r.headers['webhook-id']}`;
      const newConnection = !connections.has(r.connectionId);
      connections.add(r.connectionId);
      seen.set(key, [...(seen.get(key) ?? []), { behaviour: behaviours[i]!, receivedAtMs: r.receivedAtMs, newConnection }]);
    });

    const figures: ChaosFigures = {
      seed: options.seed,
      deliveries: deliveries.length,
      succeeded: 0,
      dead: 0,
      attempts: attempts.length,
      requestsSeen: 0,
      transportFailuresUnseen: 0,
      byBehaviour: {},
      byErrorClass: {},
      lost: 0,
      lateArrivals: 0,
      delayedRequests: 0,
      delayedOnNewConnection: 0,
      maxEventLoopDelayMs: 0,
      durationMs: 0,
    };
    expect(deliveries).toHaveLength(expectedDeliveries);
    for (const d of deliveries) {
      const where = paths.get(d.endpoint_id)!;
      const list = attemptsOf.get(d.id) ?? [];
      const context = () =>
        `seed ${options.seed}, delivery ${d.id} to ${where}: ${JSON.stringify(list)}; received ${JSON.stringify(seen.get(`${where} ${d.event_id}`))}; max loop delay ${Math.round(loopDelay.max / 1e6)} ms`;
      expect(['SUCCEEDED', 'DEAD'], context()).toContain(d.status);
      expect(list.map((a) => a.attempt_number), context()).toEqual(list.map((_, i) => i + 1));
      expect(d.attempt_count, context()).toBe(list.length);
      const successes = list.filter((a) => a.succeeded);
      if (d.status === 'SUCCEEDED') {
        figures.succeeded++;
        expect(successes, context()).toHaveLength(1);
        expect(list[list.length - 1]!.succeeded, context()).toBe(true);
      } else {
        figures.dead++;
        expect(successes, context()).toHaveLength(0);
        const last = list[list.length - 1]!;
        if (last.response_status === 410) expect(list.length, context()).toBeLessThanOrEqual(options.maxAttempts);
        else expect(list.length, context()).toBe(options.maxAttempts);
      }
      for (const a of list) figures.byErrorClass[a.error_class ?? 'OK'] = (figures.byErrorClass[a.error_class ?? 'OK'] ?? 0) + 1;
      if (where === 'TLS' || where === 'REFUSED') {
        // Nothing reached a receiver: every attempt is a transport failure of the right class.
        expect(list.every((a) => a.error_class === (where === 'TLS' ? 'TLS' : 'CONNECTION') && a.response_status === null), context()).toBe(true);
        figures.transportFailuresUnseen += list.length;
        continue;
      }
      const received = seen.get(`${where} ${d.event_id}`) ?? [];
      // Exactly one attempt per request the receiver saw, in order, classified as it behaved.
      expect(received.length, context()).toBe(list.length);
      figures.requestsSeen += received.length;
      received.forEach(({ behaviour: b, receivedAtMs, newConnection }, i) => {
        figures.byBehaviour[b.kind] = (figures.byBehaviour[b.kind] ?? 0) + 1;
        const got = list[i]!;
        const outcome = { succeeded: got.succeeded, errorClass: got.error_class, status: got.response_status };
        const sinceStart = receivedAtMs - got.started_at.getTime();
        if (sinceStart > 500) {
          figures.delayedRequests++;
          if (newConnection) figures.delayedOnNewConnection++;
        }
        // A request that reached the receiver at the edge of the sender's deadline (a SYN
        // retransmitted after 1 s, a stalled event loop) may time out whatever the receiver then
        // answers: there, either outcome is right, and a timeout is counted as a late arrival.
        const answerMs = b.kind === 'slowOk' ? 40 : 0;
        // The margin covers the longest event-loop stall seen: the answer may sit unread that long.
        const ambiguous = sinceStart + answerMs >= timeoutMs - 150 - loopDelay.max / 1e6;
        if (ambiguous && outcome.errorClass === 'TIMEOUT' && expectedOf(b).errorClass !== 'TIMEOUT') {
          figures.lateArrivals++;
          return;
        }
        expect(outcome, `${context()} attempt ${i + 1} (${b.kind})`).toEqual(expectedOf(b));
      });
    }
    // Nothing else reached the receiver (no request without a delivery, redirects never followed).
    expect(receiver.requests.filter((r) => r.path === '/redirected')).toHaveLength(0);
    expect(figures.requestsSeen).toBe(receiver.requests.length);
    expect(untrusted.requests).toHaveLength(0);
    expect(untrusted.connectionCount).toBeGreaterThan(0);
    expect(figures.attempts).toBe(figures.requestsSeen + figures.transportFailuresUnseen);
    figures.durationMs = Date.now() - started;
    figures.maxEventLoopDelayMs = Math.round(loopDelay.max / 1e6);
    return figures;
  } catch (err) {
    if (logs.lines.length && err instanceof Error) err.message += `\nservice errors:\n${logs.text().slice(0, 4000)}`;
    throw err;
  } finally {
    loopDelay.disable();
    await service.close();
    await receiver.close();
    await untrusted.close();
  }
}
