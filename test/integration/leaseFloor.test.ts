/**
 * An endpoint's leases start walking its due jobs behind the last one they picked
 * (worker/pickFloor.ts), skipping the dead entries of the jobs it already leased. A publish
 * stamps its jobs with its transaction's start, so a publish that commits late puts a job behind
 * that start: its wake-up announces that due time, and the next lease starts there.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestService, type TestService } from '../helpers/service.js';
import { startReceiver, type Receiver } from '../helpers/receiver.js';
import { createEndpoint, waitUntil } from '../helpers/flows.js';
import { FLOOR_MARGIN_MS } from '../../server/engine/worker/pickFloor.js';

let service: TestService;
let receiver: Receiver;

beforeAll(async () => {
  service = await startTestService();
  // Slow answers and one request at a time: a backlog, so jobs are leased while the late one commits.
  receiver = await startReceiver({ respond: () => ({ status: 200, delayMs: 25 }) });
}, 60_000);

afterAll(async () => {
  await receiver?.close();
  await service?.close();
});

const eventIdOf = (rawBody: string) => (JSON.parse(rawBody) as { data: { n: number } }).data.n;

describe('leases that start behind their last pick', () => {
  it('deliver a job whose publish committed behind their start first, at the wake-up of its commit', async () => {
    await createEndpoint(service.client(), { url: `${receiver.url}/floor`, patterns: ['pipeline.run.started'], maxInFlight: 1 });
    const publish = (n: number, tx?: Parameters<typeof service.engine.publisher.publish>[3]) =>
      service.engine.publisher.publish(service.orgId, [{ type: 'pipeline.run.started', data: { n } }], () => '', tx);

    let published = 0;
    const lateTx = service.engine.database.sql.begin(async (tx) => {
      // Its job is due at this transaction's start, and becomes visible only at the commit below.
      await publish(-1, tx);
      // Meanwhile leases of later jobs move their start past this job's due time.
      const until = Date.now() + FLOOR_MARGIN_MS + 2_000;
      while (Date.now() < until) {
        await Promise.all(Array.from({ length: 5 }, () => publish(published++)));
        await new Promise((r) => setTimeout(r, 100));
      }
    });
    await lateTx;
    const committedAtMs = Date.now();
    const backlogAtCommit = published - receiver.requests.length;
    expect(backlogAtCommit).toBeGreaterThan(0);

    const seen = () => new Set(receiver.requests.map((r) => eventIdOf(r.rawBody)));
    await waitUntil('every delivery, the late one included', async () => seen().size === published + 1, 30_000);
    // The late job is the endpoint's earliest due: the lease after its wake-up takes it, ahead of
    // the backlog (one request at a time, so only what was in flight at the commit goes before
    // it). Without the wake-up's due time it waited for the periodic whole walk (up to
    // FULL_WALK_EVERY_MS, ~40 deliveries a second meanwhile).
    const lateIndex = receiver.requests.findIndex((r) => eventIdOf(r.rawBody) === -1);
    const afterCommit = receiver.requests.slice(0, lateIndex).filter((r) => r.receivedAtMs >= committedAtMs).length;
    expect(afterCommit).toBeLessThanOrEqual(3);
    expect(receiver.requests.length - lateIndex).toBeGreaterThan(1);
  }, 60_000);
});
