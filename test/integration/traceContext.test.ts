/**
 * W3C trace context from the publish request to every delivery request, and OpenTelemetry spans
 * exported to a collector on loopback (protobuf and JSON) when OTEL_EXPORTER_OTLP_ENDPOINT is set.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestService, type TestService } from '../helpers/service.js';
import { startReceiver, type Receiver } from '../helpers/receiver.js';
import { startCollector, type Collector } from '../helpers/otlpCollector.js';
import { createEndpoint, waitForDeliveries } from '../helpers/flows.js';
import { graphqlClient } from '../helpers/graphql.js';
import { parseTraceparent } from '../../server/domain/traceContext.js';

const CALLER = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
const OWN = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00';
const PUBLISH_ONE = 'mutation($input: PublishEventInput!) { publishEvent(input: $input) { event { id traceparent } } }';
const PUBLISH_MANY = 'mutation($inputs: [PublishEventInput!]!) { publishEvents(inputs: $inputs) { event { id traceparent } } }';

function clientOf(service: TestService, headers: Record<string, string> = {}) {
  return graphqlClient(`${service.url}/graphql`, service.adminKey, headers);
}

/** The request of `eventId` that reached `receiver` (the n-th one, for retries). */
function requestsOf(receiver: Receiver, eventId: string) {
  return receiver.requests.filter((r) => r.headers['webhook-id'] === eventId);
}

describe('traceparent without OpenTelemetry', () => {
  let service: TestService;
  let receiver: Receiver;

  beforeAll(async () => {
    [service, receiver] = await Promise.all([startTestService(), startReceiver()]);
    await createEndpoint(service.client(), { url: `${receiver.url}/traced`, patterns: ['pipeline.*'] });
  });
  afterAll(async () => {
    await service?.close();
    await receiver?.close();
  });

  it('continues the publish request\'s trace on the delivery: same trace id and flags, a new span id', async () => {
    const data = await clientOf(service, { traceparent: CALLER }).data(PUBLISH_ONE, { input: { type: 'pipeline.run.started', data: { n: 1 } } });
    const event = data.publishEvent.event;
    expect(event.traceparent).toBe(CALLER);
    await waitForDeliveries(service, event.id, ['SUCCEEDED']);
    const [request] = requestsOf(receiver, event.id);
    const sent = parseTraceparent(request!.headers.traceparent ?? '');
    expect(request!.headers.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    expect(sent).toMatchObject({ traceId: '4bf92f3577b34da6a3ce929d0e0e4736', sampled: true });
    expect(sent!.spanId).not.toBe('00f067aa0ba902b7');
    // The attempt record keeps the header it sent (so an operator finds the trace from the attempt).
    const [row] = await service.database.sql<{ h: Record<string, string> }[]>`
      SELECT a.request_headers AS h FROM delivery_attempts a JOIN deliveries d ON d.id = a.delivery_id WHERE d.event_id = ${event.id}`;
    expect(row!.h.traceparent).toBe(request!.headers.traceparent);
  });

  it('takes an event\'s own traceparent over the request\'s, per event of a batch', async () => {
    const data = await clientOf(service, { traceparent: CALLER }).data(PUBLISH_MANY, {
      inputs: [
        { type: 'pipeline.run.succeeded', data: { n: 2 }, traceparent: OWN },
        { type: 'pipeline.run.succeeded', data: { n: 3 } },
      ],
    });
    const [own, inherited] = data.publishEvents.map((p: { event: { id: string; traceparent: string } }) => p.event);
    expect(own.traceparent).toBe(OWN);
    expect(inherited.traceparent).toBe(CALLER);
    await waitForDeliveries(service, inherited.id, ['SUCCEEDED']);
    await waitForDeliveries(service, own.id, ['SUCCEEDED']);
    expect(parseTraceparent(requestsOf(receiver, own.id)[0]!.headers.traceparent!)).toMatchObject({ traceId: '0af7651916cd43dd8448eb211c80319c', sampled: false });
    expect(parseTraceparent(requestsOf(receiver, inherited.id)[0]!.headers.traceparent!)).toMatchObject({ traceId: '4bf92f3577b34da6a3ce929d0e0e4736' });
  });

  it('gives every attempt of a retried delivery a span id of its own in the same trace', async () => {
    const flaky = await startReceiver({ respond: (_req, i) => ({ status: i === 0 ? 503 : 200 }) });
    try {
      await createEndpoint(service.client(), { url: `${flaky.url}/flaky`, patterns: ['orchestration.*'], retryPolicy: { initialBackoffSeconds: 1, maxAttempts: 3 } });
      const data = await clientOf(service, { traceparent: CALLER }).data(PUBLISH_ONE, { input: { type: 'orchestration.job.queued', data: {} } });
      await waitForDeliveries(service, data.publishEvent.event.id, ['SUCCEEDED'], 15_000);
      const sent = flaky.requests.map((r) => parseTraceparent(r.headers.traceparent ?? ''));
      expect(sent).toHaveLength(2);
      expect(sent.every((s) => s?.traceId === '4bf92f3577b34da6a3ce929d0e0e4736')).toBe(true);
      expect(sent[0]!.spanId).not.toBe(sent[1]!.spanId);
    } finally {
      await flaky.close();
    }
  });

  it('refuses a malformed traceparent field with BAD_USER_INPUT, ignores a malformed header (W3C: start over)', async () => {
    const error = await service.client().error(PUBLISH_ONE, { input: { type: 'pipeline.run.failed', data: {}, traceparent: '00-XYZ-00f067aa0ba902b7-01' } });
    expect(error).toMatchObject({ code: 'BAD_USER_INPUT', extensions: { field: 'input.traceparent' } });
    expect(error.message).toContain('W3C traceparent');
    const data = await clientOf(service, { traceparent: '00-00000000000000000000000000000000-00f067aa0ba902b7-01' }).data(PUBLISH_ONE, {
      input: { type: 'pipeline.run.failed', data: {} },
    });
    expect(data.publishEvent.event.traceparent).toBeNull();
    await waitForDeliveries(service, data.publishEvent.event.id, ['SUCCEEDED']);
    expect(requestsOf(receiver, data.publishEvent.event.id)[0]!.headers).not.toHaveProperty('traceparent');
  });

  it('sends no traceparent for an event published without one', async () => {
    const data = await service.client().data(PUBLISH_ONE, { input: { type: 'pipeline.run.cancelled', data: {} } });
    await waitForDeliveries(service, data.publishEvent.event.id, ['SUCCEEDED']);
    expect(requestsOf(receiver, data.publishEvent.event.id)[0]!.headers).not.toHaveProperty('traceparent');
  });
});

describe('OpenTelemetry spans to an OTLP collector', () => {
  let collector: Collector;
  let receiver: Receiver;
  const services: TestService[] = [];

  beforeAll(async () => {
    [collector, receiver] = await Promise.all([startCollector(), startReceiver({ respond: (req) => ({ status: req.path.startsWith('/down') ? 500 : 200 }) })]);
  });
  afterAll(async () => {
    for (const s of services) await s.close();
    await receiver?.close();
    await collector?.close();
  });

  async function tracedService(protocol: 'http/protobuf' | 'http/json'): Promise<TestService> {
    const service = await startTestService({
      OTEL_EXPORTER_OTLP_ENDPOINT: collector.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: protocol,
      OTEL_BSP_SCHEDULE_DELAY: '100',
      OTEL_SERVICE_NAME: `webhooks-test-${protocol.slice(5)}`,
    });
    services.push(service);
    return service;
  }

  it('exports a publish span under the caller and an attempt span under it, whose id the receiver got (protobuf)', async () => {
    const service = await tracedService('http/protobuf');
    await createEndpoint(service.client(), { url: `${receiver.url}/ok`, patterns: ['pipeline.run.started'] });
    await createEndpoint(service.client(), { url: `${receiver.url}/down`, patterns: ['pipeline.run.started'], retryPolicy: { maxAttempts: 1 } });
    const data = await clientOf(service, { traceparent: CALLER }).data(PUBLISH_ONE, { input: { type: 'pipeline.run.started', data: {} } });
    const event = data.publishEvent.event;
    await waitForDeliveries(service, event.id, ['SUCCEEDED', 'DEAD']);
    const spans = await collector.waitFor('publish and two attempt spans', (s) => s.filter((x) => x.traceId === '4bf92f3577b34da6a3ce929d0e0e4736').length >= 3);
    const inTrace = spans.filter((s) => s.traceId === '4bf92f3577b34da6a3ce929d0e0e4736');
    const publishSpan = inTrace.find((s) => s.name === 'webhooks.publish')!;
    expect(publishSpan).toMatchObject({ parentSpanId: '00f067aa0ba902b7', kind: 4, encoding: 'protobuf' });
    expect(publishSpan.attributes).toMatchObject({ 'messaging.message.id': event.id, 'webhooks.org_id': service.orgId, 'webhooks.deliveries': 2 });
    expect(publishSpan.resource['service.name']).toBe('webhooks-test-protobuf');
    // The event is stored with the publish span as its parent.
    expect(parseTraceparent(event.traceparent)).toMatchObject({ traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: publishSpan.spanId });

    const attempts = inTrace.filter((s) => s.name === 'webhooks.attempt');
    expect(attempts).toHaveLength(2);
    for (const attempt of attempts) {
      expect(attempt).toMatchObject({ parentSpanId: publishSpan.spanId, kind: 3 });
      expect(attempt.attributes).toMatchObject({ 'http.request.method': 'POST', 'messaging.message.id': event.id, 'webhooks.attempt_number': 1 });
      const path = new URL(String(attempt.attributes['url.full'])).pathname;
      const request = requestsOf(receiver, event.id).find((r) => r.path === path)!;
      expect(parseTraceparent(request.headers.traceparent!)!.spanId).toBe(attempt.spanId);
    }
    expect(attempts.find((a) => String(a.attributes['url.full']).endsWith('/ok'))).toMatchObject({ statusCode: 0, attributes: { 'http.response.status_code': 200 } });
    expect(attempts.find((a) => String(a.attributes['url.full']).endsWith('/down'))).toMatchObject({
      statusCode: 2,
      attributes: { 'http.response.status_code': 500, 'error.type': 'HTTP_STATUS' },
    });
  });

  it('starts a trace of its own for a publish without traceparent, and exports OTLP/JSON too', async () => {
    const service = await tracedService('http/json');
    await createEndpoint(service.client(), { url: `${receiver.url}/json`, patterns: ['security.*'] });
    const data = await service.client().data(PUBLISH_ONE, { input: { type: 'security.policy.changed', data: {} } });
    const event = data.publishEvent.event;
    const stored = parseTraceparent(event.traceparent)!;
    expect(stored).not.toBeNull();
    await waitForDeliveries(service, event.id, ['SUCCEEDED']);
    const spans = await collector.waitFor('the JSON trace', (s) => s.filter((x) => x.traceId === stored.traceId).length >= 2);
    const inTrace = spans.filter((s) => s.traceId === stored.traceId);
    expect(inTrace.every((s) => s.encoding === 'json')).toBe(true);
    expect(inTrace.find((s) => s.name === 'webhooks.publish')).toMatchObject({ parentSpanId: '', spanId: stored.spanId });
    const attempt = inTrace.find((s) => s.name === 'webhooks.attempt')!;
    expect(attempt.parentSpanId).toBe(stored.spanId);
    expect(parseTraceparent(requestsOf(receiver, event.id)[0]!.headers.traceparent!)).toMatchObject({ traceId: stored.traceId, spanId: attempt.spanId });
    expect(collector.contentTypes.some((t) => t.includes('application/json'))).toBe(true);
    expect(collector.contentTypes.some((t) => t.includes('application/x-protobuf'))).toBe(true);
  });
});
