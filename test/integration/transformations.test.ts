import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Webhook } from 'standardwebhooks';
import { startTestService, type TestService } from '../helpers/service.js';
import { startReceiver, type Receiver } from '../helpers/receiver.js';
import { attemptsOf, createEndpoint, deliveriesOf, publish, waitForDeliveries } from '../helpers/flows.js';

let service: TestService;
let receiver: Receiver;

beforeAll(async () => {
  service = await startTestService({ WEBHOOKS_TRANSFORMATION_TIMEOUT_MS: '150' });
  receiver = await startReceiver();
});
afterAll(async () => {
  await receiver?.close();
  await service?.close();
});

const hook = (path: string) => `${receiver.url}${path}`;
const at = (path: string, eventId: string) => receiver.requests.filter((r) => r.path === path && r.headers['webhook-id'] === eventId);

const SLACK = `
function handler(webhook) {
  webhook.headers['X-Team'] = 'security';
  return { body: { text: 'Run ' + webhook.data.runId + ' failed: ' + webhook.data.reason }, headers: webhook.headers };
}`;

async function attemptView(id: string) {
  const data = await service.client().data(
    `query($id: ID!) { delivery(id: $id) { status attemptCount attempts { errorClass errorMessage requestBody requestHeaders succeeded } } }`,
    { id },
  );
  return data.delivery;
}

describe('transformations', () => {
  it('sends the transformed body and headers, signed so that a Standard Webhooks library verifies them, and records what was sent', async () => {
    const admin = service.client();
    const endpoint = await createEndpoint(admin, {
      url: hook('/slack'),
      patterns: ['pipeline.run.failed'],
      headers: [{ name: 'X-Api-Token', value: 'tok-123' }],
      transformation: SLACK,
    });
    const published = await publish(admin, { type: 'pipeline.run.failed', data: { runId: 'run-9', reason: 'OOM' } });
    const [delivery] = await waitForDeliveries(service, published.event.id, ['SUCCEEDED']);
    const [request] = at('/slack', published.event.id);
    expect(request!.rawBody).toBe('{"text":"Run run-9 failed: OOM"}');
    expect(request!.headers['x-team']).toBe('security');
    // The endpoint's own custom headers reach the handler (and it kept them).
    expect(request!.headers['x-api-token']).toBe('tok-123');
    expect(new Webhook(endpoint.secret!).verify(request!.rawBody, request!.headers)).toEqual({ text: 'Run run-9 failed: OOM' });

    const view = await attemptView(delivery!.id);
    expect(view.attempts[0].requestBody).toBe('{"text":"Run run-9 failed: OOM"}');
    // Header values set by the endpoint or its transformation may be credentials: names only.
    expect(view.attempts[0].requestHeaders['X-Team']).toBe('••••');
    expect(view.attempts[0].requestHeaders['X-Api-Token']).toBe('••••');
  });

  it('keeps the envelope around changed data, and stores no body when nothing changed', async () => {
    const admin = service.client();
    const changed = await createEndpoint(admin, {
      url: hook('/redact'),
      patterns: ['security.policy.changed'],
      transformation: 'function handler(w) { delete w.data.secret; w.data.redacted = true; return w; }',
    });
    const unchanged = await createEndpoint(admin, { url: hook('/same'), patterns: ['security.policy.changed'], transformation: 'function handler(w) { return w; }' });
    const published = await publish(admin, { type: 'security.policy.changed', data: { policy: 'p1', secret: 's3cr3t' } });
    const rows = await waitForDeliveries(service, published.event.id, ['SUCCEEDED']);
    const redacted = JSON.parse(at('/redact', published.event.id)[0]!.rawBody);
    expect(redacted).toMatchObject({ id: published.event.id, type: 'security.policy.changed', data: { policy: 'p1', redacted: true } });
    expect(redacted.data.secret).toBeUndefined();
    expect(new Webhook(changed.secret!).verify(at('/redact', published.event.id)[0]!.rawBody, at('/redact', published.event.id)[0]!.headers)).toBeTruthy();
    const same = JSON.parse(at('/same', published.event.id)[0]!.rawBody);
    expect(same.data).toEqual({ policy: 'p1', secret: 's3cr3t' });
    const sameDelivery = rows.find((r) => r.endpoint_id === unchanged.id)!;
    expect((await attemptView(sameDelivery.id)).attempts[0].requestBody).toBeNull();
  });

  it('cancels the delivery on cancel: true: nothing sent, no attempt', async () => {
    const admin = service.client();
    await createEndpoint(admin, {
      url: hook('/cancel'),
      patterns: ['orchestration.job.queued'],
      transformation: 'function handler(w) { if (w.data.skip) return { cancel: true }; return w; }',
    });
    const skipped = await publish(admin, { type: 'orchestration.job.queued', data: { skip: true } });
    const sent = await publish(admin, { type: 'orchestration.job.queued', data: { skip: false } });
    const [cancelled] = await waitForDeliveries(service, skipped.event.id, ['CANCELLED']);
    await waitForDeliveries(service, sent.event.id, ['SUCCEEDED']);
    expect(await attemptsOf(service, cancelled!.id)).toEqual([]);
    expect(at('/cancel', skipped.event.id)).toHaveLength(0);
    expect(at('/cancel', sent.event.id)).toHaveLength(1);
  });

  it('records a throwing, looping or oversized transformation as a TRANSFORMATION attempt: dead at once, nothing sent, breaker untouched', async () => {
    const admin = service.client();
    const cases = {
      '/throws': 'function handler(w) {\n  return w.data.missing.field;\n}',
      '/loops': 'function handler(w) { for (;;) {} }',
      '/huge': 'function handler(w) { return { body: "x".repeat(300000) }; }',
      '/undefined': 'function handler(w) { }',
    };
    const ids: Record<string, string> = {};
    for (const [path, transformation] of Object.entries(cases)) {
      ids[path] = (await createEndpoint(admin, { url: hook(path), patterns: ['governance.contract.violation_detected'], transformation })).id;
    }
    const published = await publish(admin, { type: 'governance.contract.violation_detected', data: { contract: 'c1' } });
    const rows = await waitForDeliveries(service, published.event.id, ['DEAD'], 20_000);
    const messages: Record<string, string> = {};
    for (const [path, id] of Object.entries(ids)) {
      const row = rows.find((r) => r.endpoint_id === id)!;
      expect(row.attempt_count).toBe(1);
      expect(row.next_attempt_at).toBeNull();
      const [attempt] = await attemptsOf(service, row.id);
      expect(attempt!.error_class).toBe('TRANSFORMATION');
      expect(attempt!.response_status).toBeNull();
      messages[path] = attempt!.error_message!;
      expect(at(path, published.event.id)).toHaveLength(0);
    }
    expect(messages['/throws']).toMatch(/TypeError: .*\(line 2, column \d+\)/);
    expect(messages['/loops']).toMatch(/ran longer than 150 ms/);
    expect(messages['/huge']).toMatch(/limit is 262144 bytes/);
    expect(messages['/undefined']).toMatch(/returned undefined/);
    const { endpoint } = await admin.data(`query($id: ID!) { endpoint(id: $id) { circuitState consecutiveFailures } }`, { id: ids['/throws'] });
    expect(endpoint).toEqual({ circuitState: 'CLOSED', consecutiveFailures: 0 });
  });

  it('a looping transformation fails alone: another endpoint of the same events is delivered meanwhile', async () => {
    const admin = service.client();
    const looping = await createEndpoint(admin, { url: hook('/loop-alone'), patterns: ['pipeline.run.started'], transformation: 'function handler(w) { while (true) {} }' });
    const plain = await createEndpoint(admin, { url: hook('/plain'), patterns: ['pipeline.run.started'] });
    const transformed = await createEndpoint(admin, {
      url: hook('/transformed'),
      patterns: ['pipeline.run.started'],
      transformation: 'function handler(w) { w.data.seen = true; return w; }',
    });
    const events = [];
    for (let i = 0; i < 8; i++) events.push(await publish(admin, { type: 'pipeline.run.started', data: { i } }));
    for (const e of events) {
      const rows = await waitForDeliveries(service, e.event.id, ['SUCCEEDED', 'DEAD'], 30_000);
      expect(rows.find((r) => r.endpoint_id === plain.id)!.status).toBe('SUCCEEDED');
      expect(rows.find((r) => r.endpoint_id === transformed.id)!.status).toBe('SUCCEEDED');
      expect(rows.find((r) => r.endpoint_id === looping.id)!.status).toBe('DEAD');
    }
    expect(receiver.requests.filter((r) => r.path === '/transformed').every((r) => JSON.parse(r.rawBody).data.seen === true)).toBe(true);
  });

  it('refuses transformation code that does not parse or define handler, with its position', async () => {
    const admin = service.client();
    const syntax = await admin.error(`mutation($input: CreateEndpointInput!) { createEndpoint(input: $input) { endpoint { id } } }`, {
      input: { url: hook('/x'), patterns: ['*'], transformation: 'function handler(w) {\n  return w +;\n}' },
    });
    expect(syntax.code).toBe('BAD_USER_INPUT');
    expect(syntax.extensions.field).toBe('transformation');
    expect((syntax.extensions.problems as { position?: unknown }[])[0]!.position).toEqual({ line: 2, column: expect.any(Number) });
    const missing = await admin.error(`mutation($input: CreateEndpointInput!) { createEndpoint(input: $input) { endpoint { id } } }`, {
      input: { url: hook('/x'), patterns: ['*'], transformation: 'var handle = 1;' },
    });
    expect(missing.message).toMatch(/must define function handler/);
    const looping = await admin.error(`mutation($input: CreateEndpointInput!) { createEndpoint(input: $input) { endpoint { id } } }`, {
      input: { url: hook('/x'), patterns: ['*'], transformation: 'while (true) {} function handler(w) { return w; }' },
    });
    expect(looping.message).toMatch(/ran longer/);
  });

  it('testTransformation answers what would be sent, or the error', async () => {
    const admin = service.client();
    const ok = await admin.data(
      `mutation($code: String!, $data: JSON!) { testTransformation(code: $code, type: "pipeline.run.failed", data: $data, headers: [{ name: "X-Api-Token", value: "t" }]) { ok cancelled body headers { name value } error durationMs } }`,
      { code: SLACK, data: { runId: 'r', reason: 'disk' } },
    );
    expect(ok.testTransformation).toMatchObject({
      ok: true,
      cancelled: false,
      body: '{"text":"Run r failed: disk"}',
      headers: [
        { name: 'X-Api-Token', value: 't' },
        { name: 'X-Team', value: 'security' },
      ],
      error: null,
    });
    const failed = await admin.data(`mutation { testTransformation(code: "function handler(w) { throw new Error('nope') }", type: "x", data: {}) { ok error body } }`);
    expect(failed.testTransformation).toEqual({ ok: false, error: 'Error: nope (line 1, column 38)', body: null });
    const cancelled = await admin.data(`mutation { testTransformation(code: "function handler(w) { return { cancel: true } }", type: "x", data: {}) { ok cancelled } }`);
    expect(cancelled.testTransformation).toEqual({ ok: true, cancelled: true });
  });

  it('transforms test events too, and applies a changed transformation to the next delivery', async () => {
    const admin = service.client();
    const endpoint = await createEndpoint(admin, { url: hook('/versions'), patterns: ['security.api_key.created'], transformation: 'function handler(w) { return { body: "v1" }; }' });
    const test = await admin.data(`mutation($id: ID!) { sendTestEvent(endpointId: $id) { succeeded requestBody } }`, { id: endpoint.id });
    expect(test.sendTestEvent).toEqual({ succeeded: true, requestBody: 'v1' });
    await admin.data(`mutation($id: ID!) { updateEndpoint(id: $id, input: { transformation: "function handler(w) { return { body: 'v2' }; }" }) { id } }`, { id: endpoint.id });
    const again = await admin.data(`mutation($id: ID!) { sendTestEvent(endpointId: $id) { requestBody } }`, { id: endpoint.id });
    expect(again.sendTestEvent.requestBody).toBe('v2');
    await admin.data(`mutation($id: ID!) { updateEndpoint(id: $id, input: { transformation: null }) { id } }`, { id: endpoint.id });
    const plain = await admin.data(`mutation($id: ID!) { sendTestEvent(endpointId: $id) { requestBody } }`, { id: endpoint.id });
    expect(plain.sendTestEvent.requestBody).toBeNull();
  });

  it('roles: only admins set or test transformations; viewers see neither the code nor transformed bodies; other organizations get NOT_FOUND', async () => {
    const admin = service.client();
    const endpoint = await createEndpoint(admin, { url: hook('/roles'), patterns: ['webhook.test'], transformation: 'function handler(w) { return { body: "secret-body" }; }' });
    const test = await admin.data(`mutation($id: ID!) { sendTestEvent(endpointId: $id) { delivery { id } } }`, { id: endpoint.id });
    const deliveryId = test.sendTestEvent.delivery.id;
    const keys: Record<string, string> = {};
    for (const role of ['operator', 'viewer']) {
      keys[role] = (await admin.data(`mutation($r: ApiKeyRole!, $n: String!) { createApiKey(role: $r, name: $n) { key } }`, { r: role.toUpperCase(), n: role })).createApiKey.key;
    }
    for (const role of ['operator', 'viewer']) {
      const client = service.client(keys[role]);
      expect((await client.error(`mutation { testTransformation(code: "function handler(w) { return w }", type: "x", data: {}) { ok } }`)).code).toBe('FORBIDDEN');
      expect((await client.error(`mutation($id: ID!) { updateEndpoint(id: $id, input: { transformation: null }) { id } }`, { id: endpoint.id })).code).toBe('FORBIDDEN');
    }
    const operator = await service.client(keys.operator).data(`query($id: ID!, $d: ID!) { endpoint(id: $id) { transformation } delivery(id: $d) { attempts { requestBody } } }`, { id: endpoint.id, d: deliveryId });
    expect(operator.endpoint.transformation).toMatch(/secret-body/);
    expect(operator.delivery.attempts[0].requestBody).toBe('secret-body');
    const viewer = await service.client(keys.viewer).data(`query($id: ID!, $d: ID!) { endpoint(id: $id) { transformation } delivery(id: $d) { attempts { requestBody } } }`, { id: endpoint.id, d: deliveryId });
    expect(viewer.endpoint.transformation).toBeNull();
    expect(viewer.delivery.attempts[0].requestBody).toBeNull();
    const other = await service.services.organizations.createOrganization({ name: `transform-other-${Date.now()}`, plan: 'enterprise' });
    const outsider = service.client(other.apiKey);
    expect((await outsider.error(`query($d: ID!) { delivery(id: $d) { attempts { requestBody } } }`, { d: deliveryId })).code).toBe('NOT_FOUND');
    expect((await outsider.error(`mutation($id: ID!) { updateEndpoint(id: $id, input: { transformation: null }) { id } }`, { id: endpoint.id })).code).toBe('NOT_FOUND');
    const starter = await service.services.organizations.createOrganization({ name: `transform-starter-${Date.now()}`, plan: 'starter' });
    expect((await service.client(starter.apiKey).error(`mutation { testTransformation(code: "function handler(w) { return w }", type: "x", data: {}) { ok } }`)).code).toBe(
      'FEATURE_NOT_AVAILABLE',
    );
    expect(await deliveriesOf(service, 'evt_none')).toEqual([]);
  });
});
