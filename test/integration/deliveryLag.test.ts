import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestService, type TestService } from '../helpers/service.js';
import { createEndpoint } from '../helpers/flows.js';
import { createDeliveryJobs } from '../../server/db/repos/deliveryJobs.js';

// An api-only process: nothing delivers, so what is published waits, due.
let service: TestService;

beforeAll(async () => {
  service = await startTestService({ WEBHOOKS_ROLES: 'api' });
});
afterAll(async () => {
  await service?.close();
});

const PUBLISH = `mutation($inputs: [PublishEventInput!]!) { publishEvents(inputs: $inputs) { deliveryCount } }`;

async function lag() {
  const jobs = createDeliveryJobs(service.database.sql);
  await jobs.ensureQueues();
  return jobs.lag();
}

describe('delivery lag', () => {
  it('is the wait of the oldest due job, by kind, and leaves out work held on purpose', async () => {
    const admin = service.client();
    expect(await lag()).toEqual({ oldestDueSeconds: 0, byKind: {} });
    const waiting = await createEndpoint(admin, { url: 'http://127.0.0.1:9/lag', patterns: ['pipeline.run.failed'] });
    const paused = await createEndpoint(admin, { url: 'http://127.0.0.1:9/held', patterns: ['pipeline.run.started'] });
    await admin.data(PUBLISH, { inputs: [{ type: 'pipeline.run.failed', data: {} }, { type: 'pipeline.run.started', data: {} }] });
    await admin.data(`mutation($id: ID!) { pauseEndpoint(id: $id) { id } }`, { id: paused.id });
    // Make the waits measurable: the jobs were due a minute ago (the paused one an hour ago).
    await service.database.sql`UPDATE pgboss.job SET start_after = now() - interval '60 seconds' WHERE data->>'p' = ${waiting.id}`;
    await service.database.sql`UPDATE pgboss.job SET start_after = now() - interval '1 hour' WHERE data->>'p' = ${paused.id}`;
    const first = await lag();
    expect(first.byKind.first_attempt).toBeGreaterThanOrEqual(59);
    expect(first.byKind.first_attempt).toBeLessThan(300);
    expect(first.oldestDueSeconds).toBe(first.byKind.first_attempt);

    // A retry waiting past its time counts as a retry; an open circuit's backlog is held.
    await service.database.sql`UPDATE pgboss.job SET data = data || '{"a":2}'::jsonb WHERE data->>'p' = ${waiting.id}`;
    expect(Object.keys((await lag()).byKind)).toEqual(['retry']);
    await service.database.sql`UPDATE endpoints SET circuit_state = 'OPEN', circuit_open_until = now() + interval '1 minute' WHERE id = ${waiting.id}`;
    expect(await lag()).toEqual({ oldestDueSeconds: 0, byKind: {} });
  });
});
