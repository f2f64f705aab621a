import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestService, type TestService } from '../helpers/service.js';
import { makeId } from '../../server/domain/ids.js';

let service: TestService;

beforeAll(async () => {
  service = await startTestService({ WEBHOOKS_RETENTION_DAYS: '30', WEBHOOKS_ROLES: 'api' });
});
afterAll(async () => {
  await service?.close();
});

describe('payload retention', () => {
  it('purges event payloads and response bodies older than the retention period, keeping pending ones and the history', async () => {
    const sql = service.database.sql;
    const old = Date.now() - 31 * 86_400_000;
    const id = (kind: 'event' | 'delivery' | 'attempt', ms: number) => makeId(kind, ms, randomBytes(10));
    const oldDone = id('event', old);
    const oldPending = id('event', old);
    const recent = id('event', Date.now());
    for (const e of [oldDone, oldPending, recent]) {
      await sql`INSERT INTO events (id, org_id, type, data, created_at) VALUES (${e}, ${service.orgId}, 'pipeline.run.failed', ${sql.json({ secret: 'payload' })}, now())`;
    }
    const endpoint = await sql<{ id: string }[]>`INSERT INTO endpoints (id, org_id, url) VALUES (${makeId('endpoint', Date.now(), randomBytes(10))}, ${service.orgId}, 'https://example.test/') RETURNING id`;
    const doneDelivery = id('delivery', old);
    await sql`INSERT INTO deliveries (id, org_id, event_id, endpoint_id, event_type, status) VALUES
      (${doneDelivery}, ${service.orgId}, ${oldDone}, ${endpoint[0]!.id}, 'pipeline.run.failed', 'SUCCEEDED'),
      (${id('delivery', old)}, ${service.orgId}, ${oldPending}, ${endpoint[0]!.id}, 'pipeline.run.failed', 'PENDING')`;
    const oldAttempt = id('attempt', old);
    const newAttempt = id('attempt', Date.now());
    for (const a of [oldAttempt, newAttempt]) {
      await sql`INSERT INTO delivery_attempts (id, org_id, delivery_id, endpoint_id, event_type, attempt_number, trigger, started_at, duration_ms, succeeded, request_headers, response_status, response_body)
        VALUES (${a}, ${service.orgId}, ${doneDelivery}, ${endpoint[0]!.id}, 'pipeline.run.failed', 1, 'SCHEDULED', now(), 5, true, '{}'::jsonb, 200, 'body')`;
    }

    const purged = await service.engine.purgePayloads();
    expect(purged).toEqual({ events: 1, attempts: 1 });
    const events = await sql<{ id: string; data: unknown; payload_purged_at: Date | null }[]>`SELECT id, data, payload_purged_at FROM events WHERE id IN (${oldDone}, ${oldPending}, ${recent})`;
    const byId = new Map(events.map((e) => [e.id, e]));
    expect(byId.get(oldDone)).toMatchObject({ data: null });
    expect(byId.get(oldDone)!.payload_purged_at).toBeInstanceOf(Date);
    expect(byId.get(oldPending)!.data).toEqual({ secret: 'payload' });
    expect(byId.get(recent)!.data).toEqual({ secret: 'payload' });
    const attempts = await sql<{ id: string; response_body: string | null; response_status: number }[]>`SELECT id, response_body, response_status FROM delivery_attempts WHERE id IN (${oldAttempt}, ${newAttempt})`;
    expect(attempts.find((a) => a.id === oldAttempt)).toMatchObject({ response_body: null, response_status: 200 });
    expect(attempts.find((a) => a.id === newAttempt)!.response_body).toBe('body');
    expect(await service.engine.purgePayloads()).toEqual({ events: 0, attempts: 0 });
  });
});
