/**
 * While an endpoint has a backlog its leases start walking its due jobs behind the last one they
 * picked (worker/pickFloor.ts), skipping the dead entries of the jobs it already leased. A publish
 * stamps its jobs with its transaction's start, so a publish that commits late puts a job behind
 * that start: it must still be delivered (at the end of the burst, or by the periodic whole walk).
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
  // Slow answers and one request at a time: the endpoint's leases come back full (a backlog).
  receiver = await startReceiver({ respond: () => ({ status: 200, delayMs: 25 }) });
}, 60_000);

afterAll(async () => {
  await receiver?.close();
  await service?.close();
});

const eventIdOf = (rawBody: string) => (JSON.parse(rawBody) as { data: { n: number } }).data.n;

describe('leases that start behind their last pick', () => {
  it('deliver a job whose publish committed behind the start of the leases', async () => {
    await createEndpoint(service.client(), { url: `${receiver.url}/floor`, patterns: ['pipeline.run.started'], maxInFlight: 1 });
    const publish = (n: number, tx?: Parameters<typeof service.engine.publisher.publish>[3]) =>
      service.engine.publisher.publish(service.orgId, [{ type: 'pipeline.run.started', data: { n } }], () => '', tx);

    let published = 0;
    const late = service.engine.database.sql.begin(async (tx) => {
      // Its job is due at this transaction's start, and becomes visible only at the commit below.
      await publish(-1, tx);
      // Meanwhile a backlog builds whose leases move their start past this job's due time.
      const until = Date.now() + FLOOR_MARGIN_MS + 2_000;
      while (Date.now() < until) {
        await Promise.all(Array.from({ length: 5 }, () => publish(published++)));
        await new Promise((r) => setTimeout(r, 100));
      }
    });
    await late;
    const backlogAtCommit = published - receiver.requests.length;
    expect(backlogAtCommit).toBeGreaterThan(0);

    const seen = () => new Set(receiver.requests.map((r) => eventIdOf(r.rawBody)));
    await waitUntil('every delivery, the late one included', async () => seen().size === published + 1, 30_000);
    // Found while the endpoint was still busy (the periodic whole walk) or by the whole walk that
    // follows the burst's last short lease: not seconds later, when the idle endpoint's state is
    // dropped and a fresh one walks from the start (what happens without those two walks).
    const receivedAt = (n: number) => receiver.requests.find((r) => eventIdOf(r.rawBody) === n)!.receivedAtMs;
    const lastOfBurst = Math.max(...receiver.requests.filter((r) => eventIdOf(r.rawBody) >= 0).map((r) => r.receivedAtMs));
    expect(receivedAt(-1) - lastOfBurst).toBeLessThan(2_000);
  }, 60_000);
});
