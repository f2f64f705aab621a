/**
 * Crash (slow, `npm run test:faults` only): two worker processes (WEBHOOKS_ROLES=worker) deliver
 * while events keep being published through an api-only service in this process; at random
 * moments one of them, or both at once, is killed with SIGKILL and started again. Every
 * (event, endpoint) pair must reach the receiver at least once, every delivery must end
 * SUCCEEDED with exactly one successful attempt recorded, and duplicates are counted and bounded
 * by what was in flight: each one was first received shortly before a kill.
 * (test/integration/crash.test.ts has the basic single-worker version.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestService, type TestService } from '../helpers/service.js';
import { startReceiver, type Receiver } from '../helpers/receiver.js';
import { spawnServiceProcess, type ServiceProcess } from '../helpers/processes.js';
import { createEndpoint, waitUntil } from '../helpers/flows.js';
import { recordFigures, seededRandom, sleep } from './support.js';

const SEED = Number(process.env.FAULTS_SEED ?? Date.now() % 1_000_000);
const ENDPOINTS = 4;
const MAX_IN_FLIGHT = 8;
const BATCHES = 24;
const BATCH = 125;
const ROUNDS = 6;
/** A duplicate must have been first received at most this long before a kill. */
const IN_FLIGHT_WINDOW_MS = 5_000;

let api: TestService;
let receiver: Receiver;
const workers: (ServiceProcess | null)[] = [null, null];

beforeAll(async () => {
  api = await startTestService({ WEBHOOKS_ROLES: 'api' });
  const random = seededRandom(SEED + 1);
  receiver = await startReceiver({ respond: () => ({ status: 200, delayMs: Math.floor(random() * 20) }) });
});
afterAll(async () => {
  await Promise.all(workers.map((w) => w?.kill('SIGKILL')));
  await receiver?.close();
  await api?.close();
});

function startWorker(): Promise<ServiceProcess> {
  return spawnServiceProcess({ WEBHOOKS_ROLES: 'worker', DATABASE_URL: api.testDatabase.url, WEBHOOKS_MASTER_KEY: api.masterKey });
}

describe('workers killed with SIGKILL at random moments under load', () => {
  it('lose nothing; duplicates are bounded by what was in flight at each kill', async () => {
    const random = seededRandom(SEED);
    const admin = api.client();
    const paths: string[] = [];
    for (let i = 0; i < ENDPOINTS; i++) {
      paths.push(`/crash-${i}`);
      await createEndpoint(admin, { url: `${receiver.url}/crash-${i}`, patterns: ['pipeline.run.*'], maxInFlight: MAX_IN_FLIGHT });
    }
    for (let i = 0; i < workers.length; i++) workers[i] = await startWorker();
    await Promise.all(workers.map((w) => w!.ready()));

    // Load: batches keep coming while workers die.
    const eventIds: string[] = [];
    let publishing = true;
    const publisher = (async () => {
      for (let b = 0; b < BATCHES; b++) {
        const inputs = Array.from({ length: BATCH }, (_, i) => ({ type: 'pipeline.run.succeeded', data: { b, i }, orderingKey: i % 10 === 0 ? `run-${b}` : undefined }));
        const published = await admin.data(`mutation($inputs: [PublishEventInput!]!) { publishEvents(inputs: $inputs) { event { id } } }`, { inputs });
        eventIds.push(...published.publishEvents.map((p: { event: { id: string } }) => p.event.id));
        await sleep(250);
      }
      publishing = false;
    })();

    const kills: { atMs: number; exitedAtMs: number; victims: number[]; receivedSoFar: number }[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      await sleep(300 + Math.floor(random() * 2_200));
      const r = random();
      // Round 2 always kills both at once; the others pick one, the other, or both.
      const victims = round === 1 || r >= 0.67 ? [0, 1] : r < 0.34 ? [0] : [1];
      const atMs = Date.now();
      const receivedSoFar = receiver.requests.length;
      await Promise.all(victims.map((v) => workers[v]!.kill('SIGKILL')));
      // Requests a victim wrote before it died may be read by the receiver a moment later.
      kills.push({ atMs, exitedAtMs: Date.now() + 250, victims, receivedSoFar });
      for (const v of victims) workers[v] = await startWorker();
      // Not waiting for readiness every time: a worker may also die while it is starting.
      if (random() < 0.7) await Promise.all(victims.map((v) => workers[v]!.ready()));
    }
    await publisher;
    expect(publishing).toBe(false);
    await Promise.all(workers.map((w) => w!.ready()));

    const total = eventIds.length * ENDPOINTS;
    await waitUntil(
      'every delivery to succeed',
      async () => {
        const [row] = await api.database.sql<{ done: number }[]>`SELECT count(*) FILTER (WHERE status = 'SUCCEEDED')::int AS done FROM deliveries WHERE event_type = 'pipeline.run.succeeded'`;
        return row!.done === total;
      },
      180_000,
    );

    // At least once, per (event, endpoint).
    const received = new Map<string, number[]>();
    for (const r of receiver.requests) {
      const key = `${r.path} ${r.headers['webhook-id']}`;
      received.set(key, [...(received.get(key) ?? []), r.receivedAtMs]);
    }
    let lost = 0;
    for (const id of eventIds) for (const path of paths) if (!received.has(`${path} ${id}`)) lost++;
    expect(lost).toBe(0);

    // Recorded exactly once as a success, whatever was sent twice.
    const [counts] = await api.database.sql<{ deliveries: number; bad: number; attempts: number }[]>`
      SELECT count(*)::int AS deliveries,
             count(*) FILTER (WHERE (SELECT count(*) FROM delivery_attempts a WHERE a.delivery_id = d.id AND a.succeeded) <> 1)::int AS bad,
             (SELECT count(*) FROM delivery_attempts WHERE event_type = 'pipeline.run.succeeded')::int AS attempts
      FROM deliveries d WHERE event_type = 'pipeline.run.succeeded'`;
    expect(counts!.deliveries).toBe(total);
    expect(counts!.bad).toBe(0);

    // Duplicates: counted, each first received within the in-flight window before some kill.
    let duplicates = 0;
    const unexplained: number[] = [];
    for (const times of received.values()) {
      if (times.length < 2) continue;
      duplicates += times.length - 1;
      const first = times[0]!;
      if (!kills.some((k) => first <= k.exitedAtMs && first >= k.atMs - IN_FLIGHT_WINDOW_MS)) unexplained.push(first);
    }
    const victims = kills.reduce((n, k) => n + k.victims.length, 0);
    expect(unexplained, `duplicates first received at ${unexplained.map((t) => new Date(t).toISOString())}; kills ${JSON.stringify(kills.map((k) => [new Date(k.atMs).toISOString(), k.victims]))}`).toEqual([]);
    expect(duplicates).toBeLessThanOrEqual(victims * ENDPOINTS * MAX_IN_FLIGHT * 2);
    recordFigures('crash', {
      seed: SEED,
      events: eventIds.length,
      deliveries: total,
      requests: receiver.requests.length,
      attemptsRecorded: counts!.attempts,
      kills: kills.length,
      workersKilled: victims,
      doubleKills: kills.filter((k) => k.victims.length === 2).length,
      duplicates,
      duplicateBound: victims * ENDPOINTS * MAX_IN_FLIGHT * 2,
      lost,
    });
  }, 300_000);
});
