/**
 * The recorder writes what waits in statements of at most MAX_BATCH_ENTRIES entries, oldest
 * first. After a stall thousands of entries wait; recorded in one statement they were megabytes
 * of JSON parameters held twice (as strings and as the message being written): the worker's
 * peak memory (docs/benchmarks.md, 2026-12-06 fifth session).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestService, type TestService } from '../helpers/service.js';
import { createLogger } from '../../server/logger.js';
import { createDeliveryJobs } from '../../server/db/repos/deliveryJobs.js';
import { createPendingHorizon } from '../../server/engine/pendingHorizon.js';
import { createRecorder, MAX_BATCH_ENTRIES } from '../../server/engine/recorder.js';
import { newId } from '../../server/crypto/random.js';
import type { AttemptRecord } from '../../server/db/repos/attempts.js';

let service: TestService;

beforeAll(async () => {
  service = await startTestService({ WEBHOOKS_ROLES: 'api' });
}, 60_000);

afterAll(async () => {
  await service?.close();
});

describe('recording a backlog', () => {
  it('writes more entries than one statement takes in several, oldest first, and loses none', async () => {
    const sql = service.database.workerSql;
    const jobs = createDeliveryJobs(sql);
    await jobs.ensureLayout();
    const recorder = createRecorder({ sql, jobs, log: createLogger('silent'), pendingHorizon: createPendingHorizon(sql) });
    const committed: number[][] = [];
    recorder.afterCommit((batch) => committed.push(batch.map((e) => e.attempt!.attemptNumber)));

    const deliveryId = newId('delivery');
    const attempt = (n: number): AttemptRecord => {
      const startedAt = new Date();
      return {
        id: newId('attempt', startedAt.getTime()),
        orgId: service.orgId,
        deliveryId,
        endpointId: 'ep_backlog',
        eventType: 'pipeline.run.started',
        attemptNumber: n,
        trigger: 'SCHEDULED',
        startedAt,
        durationMs: 3,
        succeeded: true,
        requestHeaders: { 'webhook-id': `evt_${n}` },
        responseStatus: 200,
        responseHeaders: { 'content-length': '0' },
        responseBody: '',
        errorClass: null,
        errorMessage: null,
        requestBody: null,
      };
    };
    // The first entry starts a statement; the rest wait behind it, as after a stall.
    const total = MAX_BATCH_ENTRIES * 2 + 7;
    for (let n = 1; n <= total; n++) recorder.add({ attempt: attempt(n) });
    await recorder.drain();

    expect(committed.map((b) => b.length)).toEqual([1, MAX_BATCH_ENTRIES, MAX_BATCH_ENTRIES, 6]);
    expect(committed.flat()).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    const [row] = await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM delivery_attempts WHERE delivery_id = ${deliveryId}`;
    expect(row!.n).toBe(total);
  });
});
