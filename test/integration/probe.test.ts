/**
 * probeEndpoint: the half-open probe of an open circuit, now. Real receivers on loopback that
 * fail, then are fixed; the worker of the test service sends the probe from the backlog, or the
 * api sends a webhook.test when nothing waits.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestService, type TestService } from '../helpers/service.js';
import { startReceiver, type Receiver } from '../helpers/receiver.js';
import { createEndpoint, publish, waitForDeliveries, waitUntil } from '../helpers/flows.js';
import { deliveryQueueOf } from '../../server/db/queues.js';

const PROBE = `mutation($id: ID!) { probeEndpoint(id: $id) { id trigger succeeded responseStatus errorClass delivery { id status event { type } } } }`;
const CREATE_KEY = `mutation($role: ApiKeyRole!, $name: String!) { createApiKey(role: $role, name: $name) { key } }`;

let service: TestService;

beforeAll(async () => {
  service = await startTestService();
});
afterAll(async () => {
  await service?.close();
});

async function breaker(endpointId: string) {
  const [row] = await service.database.sql<{ circuit_state: string; circuit_open_until: Date | null; circuit_cooldown_seconds: number | null; consecutive_failures: number }[]>`
    SELECT circuit_state, circuit_open_until, circuit_cooldown_seconds, consecutive_failures FROM endpoints WHERE id = ${endpointId}`;
  return row!;
}

/** An endpoint whose circuit opens after two failures and would not probe by itself for 10 minutes. */
async function openCircuit(receiver: Receiver, path: string, type: string, options: { maxAttempts?: number; backlog?: number } = {}) {
  const endpoint = await createEndpoint(service.client(), {
    url: `${receiver.url}${path}`,
    patterns: [type],
    maxInFlight: 1,
    circuitBreaker: { enabled: true, failureThreshold: 2, cooldownSeconds: 600 },
    retryPolicy: { initialBackoffSeconds: 3600, multiplier: 1, maxBackoffSeconds: 3600, maxAttempts: options.maxAttempts ?? 5 },
  });
  const events: string[] = [];
  for (let i = 0; i < 2 + (options.backlog ?? 0); i++) {
    events.push((await publish(service.client(), { type, data: { run: `${path}-${i}` } })).event.id);
  }
  await waitUntil('the circuit to open', async () => (await breaker(endpoint.id)).circuit_state === 'OPEN');
  return { endpoint, events };
}

describe('probeEndpoint', () => {
  it('sends the next waiting delivery as the probe; success closes the circuit and the backlog drains', async () => {
    let healthy = false;
    const receiver = await startReceiver({ respond: () => ({ status: healthy ? 200 : 500, body: healthy ? 'ok' : 'down' }) });
    try {
      const { endpoint, events } = await openCircuit(receiver, '/drain', 'pipeline.run.failed', { backlog: 3 });
      const sentWhileOpen = receiver.requests.length;
      expect(sentWhileOpen).toBe(2);
      healthy = true;

      const { probeEndpoint } = await service.client().data(PROBE, { id: endpoint.id });
      expect(probeEndpoint).toMatchObject({ trigger: 'SCHEDULED', succeeded: true, responseStatus: 200 });
      expect(probeEndpoint.delivery.event.type).toBe('pipeline.run.failed');
      // The probe was one of the waiting deliveries, not a test event.
      expect(events.slice(2)).toContain(JSON.parse(receiver.requests[sentWhileOpen]!.rawBody).id);

      await waitUntil('the circuit to close', async () => (await breaker(endpoint.id)).circuit_state === 'CLOSED');
      for (const id of events.slice(2)) await waitForDeliveries(service, id, ['SUCCEEDED'], 15_000);
    } finally {
      await receiver.close();
    }
  }, 40_000);

  it('a failed probe reopens the circuit with a doubled cooldown', async () => {
    const receiver = await startReceiver({ respond: () => ({ status: 503, body: 'still down' }) });
    try {
      const { endpoint } = await openCircuit(receiver, '/still-down', 'pipeline.run.started', { backlog: 1 });
      const { probeEndpoint } = await service.client().data(PROBE, { id: endpoint.id });
      expect(probeEndpoint).toMatchObject({ succeeded: false, responseStatus: 503, errorClass: 'HTTP_STATUS' });
      await waitUntil('the circuit to reopen with 1,200 s', async () => {
        const b = await breaker(endpoint.id);
        return b.circuit_state === 'OPEN' && b.circuit_cooldown_seconds === 1200;
      });
      expect(receiver.requests).toHaveLength(3);
    } finally {
      await receiver.close();
    }
  }, 40_000);

  it('with nothing waiting, probes with a webhook.test request and closes the circuit on success', async () => {
    let healthy = false;
    const receiver = await startReceiver({ respond: () => ({ status: healthy ? 204 : 500 }) });
    try {
      // One attempt each: both deliveries are dead, nothing waits behind the circuit.
      const { endpoint, events } = await openCircuit(receiver, '/empty', 'pipeline.run.succeeded', { maxAttempts: 1 });
      for (const id of events) await waitForDeliveries(service, id, ['DEAD']);
      healthy = true;
      const { probeEndpoint } = await service.client().data(PROBE, { id: endpoint.id });
      expect(probeEndpoint).toMatchObject({ trigger: 'TEST', succeeded: true, responseStatus: 204 });
      expect(probeEndpoint.delivery.event.type).toBe('webhook.test');
      const body = JSON.parse(receiver.requests.at(-1)!.rawBody);
      expect(body).toMatchObject({ type: 'webhook.test', data: { probe: true, endpointId: endpoint.id } });
      expect(await breaker(endpoint.id)).toMatchObject({ circuit_state: 'CLOSED', consecutive_failures: 0, circuit_open_until: null });
    } finally {
      await receiver.close();
    }
  }, 40_000);

  it('probes directly when the backlog only holds retries scheduled for later, and a failure reopens it', async () => {
    const receiver = await startReceiver({ respond: () => ({ status: 500 }) });
    try {
      // Both deliveries failed once and wait an hour for their retry: nothing is due now.
      const { endpoint, events } = await openCircuit(receiver, '/later', 'pipeline.run.cancelled');
      const [pending] = await waitForDeliveries(service, events[1]!, ['PENDING']);
      expect(pending!.attempt_count).toBe(1);
      const { probeEndpoint } = await service.client().data(PROBE, { id: endpoint.id });
      expect(probeEndpoint).toMatchObject({ trigger: 'TEST', succeeded: false, responseStatus: 500 });
      expect(await breaker(endpoint.id)).toMatchObject({ circuit_state: 'OPEN', circuit_cooldown_seconds: 1200, consecutive_failures: 3 });
    } finally {
      await receiver.close();
    }
  }, 40_000);

  it('a probe that closes the circuit early also releases the jobs the breaker deferred to the end of its cooldown', async () => {
    let healthy = false;
    const receiver = await startReceiver({ respond: () => ({ status: healthy ? 200 : 500 }) });
    try {
      const { endpoint, events } = await openCircuit(receiver, '/deferred', 'governance.contract.violation_detected', { backlog: 3 });
      // What the worker does to a job it fetched just as the circuit opened: back, due at the cooldown's end.
      const [deferred] = await service.database.sql.unsafe<{ d: string }[]>(
        `UPDATE pgboss.job j SET start_after = e.circuit_open_until FROM endpoints e
         WHERE e.id = $2 AND j.name = $1 AND j.state < 'active' AND j.data->>'a' = '0'
           AND j.id = (SELECT id FROM pgboss.job WHERE name = $1 AND data->>'p' = $2 AND state < 'active' AND data->>'a' = '0' ORDER BY id LIMIT 1)
         RETURNING j.data->>'d' AS d`,
        [deliveryQueueOf(endpoint.id), endpoint.id],
      );
      expect(deferred).toBeDefined();
      healthy = true;
      const { probeEndpoint } = await service.client().data(PROBE, { id: endpoint.id });
      expect(probeEndpoint.succeeded).toBe(true);
      for (const id of events.slice(2)) await waitForDeliveries(service, id, ['SUCCEEDED'], 10_000);
    } finally {
      await receiver.close();
    }
  }, 40_000);

  it('two callers at once share one probe', async () => {
    let healthy = false;
    const receiver = await startReceiver({ respond: () => (healthy ? { status: 200, delayMs: 600 } : { status: 500 }) });
    try {
      const { endpoint, events } = await openCircuit(receiver, '/shared', 'security.policy.changed', { maxAttempts: 1 });
      for (const id of events) await waitForDeliveries(service, id, ['DEAD']);
      healthy = true;
      const [a, b] = await Promise.all([service.client().data(PROBE, { id: endpoint.id }), service.client().data(PROBE, { id: endpoint.id })]);
      expect(a.probeEndpoint.id).toBe(b.probeEndpoint.id);
      expect(receiver.requests).toHaveLength(3);
      expect((await breaker(endpoint.id)).circuit_state).toBe('CLOSED');
    } finally {
      await receiver.close();
    }
  }, 40_000);

  it('without a worker to send it, the api sends the probe itself once the endpoint timeout and a margin have passed', async () => {
    const apiOnly = await startTestService({ WEBHOOKS_ROLES: 'api' });
    const receiver = await startReceiver({ respond: () => ({ status: 200 }) });
    try {
      const endpoint = await createEndpoint(apiOnly.client(), { url: `${receiver.url}/nobody`, patterns: ['pipeline.run.failed'], timeoutMs: 1000 });
      await publish(apiOnly.client(), { type: 'pipeline.run.failed', data: { run: 'queued' } });
      await apiOnly.database.sql`
        UPDATE endpoints SET circuit_state = 'OPEN', consecutive_failures = 10, circuit_opened_at = now(),
               circuit_open_until = now() + interval '1 hour', circuit_cooldown_seconds = 3600
        WHERE id = ${endpoint.id}`;
      const started = Date.now();
      const { probeEndpoint } = await apiOnly.client().data(PROBE, { id: endpoint.id });
      expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
      expect(probeEndpoint).toMatchObject({ trigger: 'TEST', succeeded: true });
      const [row] = await apiOnly.database.sql<{ circuit_state: string }[]>`SELECT circuit_state FROM endpoints WHERE id = ${endpoint.id}`;
      expect(row!.circuit_state).toBe('CLOSED');
    } finally {
      await receiver.close();
      await apiOnly.close();
    }
  }, 60_000);

  it('refuses a closed circuit, a paused endpoint, other roles and other organizations with clear codes', async () => {
    const receiver = await startReceiver();
    try {
      const admin = service.client();
      const endpoint = await createEndpoint(admin, { url: `${receiver.url}/fine`, patterns: ['orchestration.job.queued'] });
      const closed = await admin.error(PROBE, { id: endpoint.id });
      expect(closed.code).toBe('BAD_USER_INPUT');
      expect(closed.message).toMatch(/circuit of this endpoint is closed/);

      for (const role of ['VIEWER', 'PUBLISHER'] as const) {
        const key = (await admin.data(CREATE_KEY, { role, name: `probe ${role}` })).createApiKey.key;
        expect((await service.client(key).error(PROBE, { id: endpoint.id })).code).toBe('FORBIDDEN');
      }
      const operator = (await admin.data(CREATE_KEY, { role: 'OPERATOR', name: 'probe operator' })).createApiKey.key;
      expect((await service.client(operator).error(PROBE, { id: endpoint.id })).code).toBe('BAD_USER_INPUT');

      const other = await service.services.organizations.createOrganization({ name: 'probe-other', plan: 'enterprise' });
      expect((await service.client(other.apiKey).error(PROBE, { id: endpoint.id })).code).toBe('NOT_FOUND');
      expect((await admin.error(PROBE, { id: 'ep_does_not_exist' })).code).toBe('NOT_FOUND');

      await admin.data(`mutation($id: ID!) { pauseEndpoint(id: $id) { id } }`, { id: endpoint.id });
      const paused = await admin.error(PROBE, { id: endpoint.id });
      expect(paused.code).toBe('BAD_USER_INPUT');
      expect(paused.message).toMatch(/paused or disabled/);
    } finally {
      await receiver.close();
    }
  });
});
