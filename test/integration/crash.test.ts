import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestService, type TestService } from '../helpers/service.js';
import { startReceiver, type Receiver } from '../helpers/receiver.js';
import { spawnServiceProcess, type ServiceProcess } from '../helpers/processes.js';
import { createEndpoint, waitUntil } from '../helpers/flows.js';

const ENDPOINTS = 2;
const MAX_IN_FLIGHT = 8;
const EVENTS = 300;
const KILLS = 3;

let api: TestService;
let receiver: Receiver;
let worker: ServiceProcess | null = null;

beforeAll(async () => {
  // The in-process service only serves the API; deliveries happen in a separate worker process.
  api = await startTestService({ WEBHOOKS_ROLES: 'api' });
  receiver = await startReceiver({ respond: () => ({ status: 200, delayMs: 15 }) });
});
afterAll(async () => {
  await worker?.kill('SIGKILL');
  await receiver?.close();
  await api?.close();
});

function startWorker(): Promise<ServiceProcess> {
  return spawnServiceProcess({ WEBHOOKS_ROLES: 'worker', DATABASE_URL: api.testDatabase.url, WEBHOOKS_MASTER_KEY: api.masterKey });
}

describe('a worker killed with SIGKILL mid-batch', () => {
  it('loses nothing: every (event, endpoint) pair is delivered at least once, duplicates bounded by what was in flight', async () => {
    const admin = api.client();
    const paths = [];
    for (let i = 0; i < ENDPOINTS; i++) {
      paths.push(`/crash-${i}`);
      await createEndpoint(admin, { url: `${receiver.url}/crash-${i}`, patterns: ['pipeline.run.succeeded'], maxInFlight: MAX_IN_FLIGHT });
    }
    const inputs = Array.from({ length: EVENTS }, (_, i) => ({ type: 'pipeline.run.succeeded', data: { i } }));
    const published = await admin.data(`mutation($inputs: [PublishEventInput!]!) { publishEvents(inputs: $inputs) { event { id } } }`, { inputs });
    const eventIds: string[] = published.publishEvents.map((p: { event: { id: string } }) => p.event.id);

    worker = await startWorker();
    await worker.ready();
    for (let kill = 1; kill <= KILLS; kill++) {
      const target = Math.floor((EVENTS * ENDPOINTS * kill) / (KILLS + 1));
      await waitUntil(`${target} requests before kill ${kill}`, async () => receiver.requests.length >= target, 30_000);
      await worker.kill('SIGKILL');
      worker = await startWorker();
      await worker.ready();
    }

    await waitUntil(
      'every delivery to succeed',
      async () => {
        const [row] = await api.database.sql<{ pending: number }[]>`SELECT count(*) FILTER (WHERE status <> 'SUCCEEDED')::int AS pending FROM deliveries`;
        return row!.pending === 0;
      },
      60_000,
    );

    const received = new Map<string, number>();
    for (const r of receiver.requests) {
      const key = `${r.path} ${r.headers['webhook-id']}`;
      received.set(key, (received.get(key) ?? 0) + 1);
    }
    for (const id of eventIds) for (const path of paths) expect(received.get(`${path} ${id}`) ?? 0).toBeGreaterThanOrEqual(1);
    const duplicates = [...received.values()].reduce((n, c) => n + c - 1, 0);
    // Each kill can repeat at most what was in flight or not yet recorded at that instant.
    expect(duplicates).toBeLessThanOrEqual(KILLS * ENDPOINTS * MAX_IN_FLIGHT * 2);
    const [attempts] = await api.database.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM delivery_attempts`;
    expect(attempts!.n).toBeGreaterThanOrEqual(EVENTS * ENDPOINTS);
    console.log(`crash test: ${receiver.requests.length} requests for ${EVENTS * ENDPOINTS} deliveries, ${duplicates} duplicates after ${KILLS} SIGKILLs`);
  }, 120_000);

  it('a worker stopped with SIGTERM finishes what it has in flight and hands over: no duplicates, nothing lost', async () => {
    const admin = api.client();
    await createEndpoint(admin, { url: `${receiver.url}/graceful`, patterns: ['pipeline.run.cancelled'], maxInFlight: MAX_IN_FLIGHT });
    const inputs = Array.from({ length: 200 }, (_, i) => ({ type: 'pipeline.run.cancelled', data: { i } }));
    const published = await admin.data(`mutation($inputs: [PublishEventInput!]!) { publishEvents(inputs: $inputs) { event { id } } }`, { inputs });
    const eventIds: string[] = published.publishEvents.map((p: { event: { id: string } }) => p.event.id);
    const graceful = () => receiver.requests.filter((r) => r.path === '/graceful');
    worker ??= await startWorker();
    await waitUntil('some deliveries', async () => graceful().length >= 50, 30_000);
    expect(await worker.kill('SIGTERM')).toBe(0);
    worker = await startWorker();
    await worker.ready();
    await waitUntil(
      'every delivery to succeed',
      async () => {
        const [row] = await api.database.sql<{ pending: number }[]>`
          SELECT count(*) FILTER (WHERE status <> 'SUCCEEDED')::int AS pending FROM deliveries WHERE event_type = 'pipeline.run.cancelled'`;
        return row!.pending === 0;
      },
      60_000,
    );
    const ids = graceful().map((r) => r.headers['webhook-id']);
    expect(new Set(ids).size).toBe(eventIds.length);
    expect(ids.length).toBe(eventIds.length);
  }, 120_000);
});
