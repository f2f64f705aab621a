/**
 * Structured logs: one JSON line per GraphQL operation (HTTP request or graphql-ws operation)
 * with request id, operation name, duration and error codes, and never a variable, payload,
 * response body, secret or API key, whatever goes through the service.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestService, type TestService } from '../helpers/service.js';
import { startReceiver, type Receiver } from '../helpers/receiver.js';
import { createEndpoint, waitUntil } from '../helpers/flows.js';
import { liveSubscribe, wsClient } from '../helpers/live.js';

const marker = `marker-${randomBytes(8).toString('hex')}`;
const lines: string[] = [];
let service: TestService;
let receiver: Receiver;

interface RequestLine {
  level: number;
  msg: string;
  requestId: string;
  transport: 'http' | 'ws';
  operationName: string | null;
  operationType: string | null;
  fields: string[];
  orgId: string | null;
  apiKeyId: string | null;
  durationMs: number;
  status?: number;
  messages?: number;
  errors: string[];
}

const requestLines = () => lines.map((l) => JSON.parse(l) as RequestLine).filter((l) => l.msg === 'graphql request');

async function post(body: unknown, apiKey: string | null = service.adminKey): Promise<{ requestId: string; body: any }> {
  const response = await fetch(`${service.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(apiKey ? { authorization: `Bearer ${apiKey}` } : {}) },
    body: JSON.stringify(body),
  });
  return { requestId: response.headers.get('x-request-id')!, body: await response.json() };
}

beforeAll(async () => {
  receiver = await startReceiver({ respond: (req) => ({ status: 500, body: `echo ${req.rawBody}` }) });
  service = await startTestService({ LOG_LEVEL: 'debug' }, { logDestination: { write: (line: string) => void lines.push(line) } });
});

afterAll(async () => {
  await service?.close();
  await receiver?.close();
});

describe('request log', () => {
  it('writes one line per request with id, operation, duration and error codes, and none of the secrets', async () => {
    const endpoint = await createEndpoint(service.client(), {
      url: `${receiver.url}/log`,
      patterns: ['pipeline.run.failed'],
      headers: [{ name: 'x-custom-token', value: `hdr-${marker}` }],
      retryPolicy: { maxAttempts: 1 },
    });
    expect(endpoint.secret).toMatch(/^whsec_/);
    const before = requestLines().length;

    const published = await post({
      query: `mutation PublishIt($input: PublishEventInput!) { publishEvent(input: $input) { event { id } deliveryCount } }`,
      operationName: 'PublishIt',
      variables: { input: { type: 'pipeline.run.failed', data: { note: marker, nested: { again: marker } }, eventId: `idem-${marker}` } },
    });
    expect(published.body.data.publishEvent.deliveryCount).toBe(1);
    const created = await post({ query: `mutation { createApiKey(role: VIEWER, name: "log-test ${marker}") { key apiKey { id } } }` });
    const newKey: string = created.body.data.createApiKey.key;
    const withNewKey = await post({ query: `query Who { viewer { role } }` }, newKey);
    const missing = await post({ query: `query Missing($id: ID!) { endpoint(id: $id) { id } }`, variables: { id: `ep_${marker}` } });
    const invalid = await post({ query: `{ nope }` });
    const anonymous = await post({ query: `{ viewer { role } endpoints { edges { node { id } } } }` }, `whk_forged${marker}`);

    // The scheduled delivery (answered 500 with the payload echoed) is recorded first.
    await waitUntil('the failed attempt', async () => {
      const [row] = await service.database.sql`SELECT count(*)::int AS n FROM delivery_attempts WHERE endpoint_id = ${endpoint.id} AND trigger = 'SCHEDULED'`;
      return row!.n === 1;
    });

    // A subscription over graphql-ws, authenticated with the new key, that ends with the client.
    const ws = wsClient(service.url, newKey);
    const sub = liveSubscribe(ws, `subscription Watch { deliveryAttempts { id responseBody } }`);
        await waitUntil('the subscription', async () => service.live!.stats().subscribers.attempts === 1);
    await service.client().data(`mutation($id: ID!) { sendTestEvent(endpointId: $id) { id } }`, { id: endpoint.id });
    await sub.waitFor(1);
    sub.unsubscribe();
    await waitUntil('the ws line', async () => requestLines().some((l) => l.transport === 'ws'));
    await ws.dispose();

    const logged = requestLines().slice(before);
    const byId = (id: string) => logged.find((l) => l.requestId === id);
    expect(byId(published.requestId)).toMatchObject({
      transport: 'http',
      operationName: 'PublishIt',
      operationType: 'mutation',
      fields: ['publishEvent'],
      orgId: service.orgId,
      status: 200,
      errors: [],
    });
    expect(byId(published.requestId)!.durationMs).toBeGreaterThan(0);
    expect(byId(created.requestId)).toMatchObject({ operationName: null, operationType: 'mutation', fields: ['createApiKey'], errors: [] });
    expect(byId(withNewKey.requestId)).toMatchObject({ operationName: 'Who', apiKeyId: created.body.data.createApiKey.apiKey.id });
    expect(byId(missing.requestId)).toMatchObject({ operationName: 'Missing', errors: ['NOT_FOUND'] });
    expect(byId(invalid.requestId)!.errors).toHaveLength(1);
    expect(byId(anonymous.requestId)).toMatchObject({ operationType: 'query', fields: ['viewer', 'endpoints'], errors: ['UNAUTHENTICATED'], orgId: null });
    const wsLine = logged.find((l) => l.transport === 'ws')!;
    expect(wsLine).toMatchObject({ operationName: 'Watch', operationType: 'subscription', fields: ['deliveryAttempts'], messages: 1, errors: [] });
    // One line per request: the six HTTP requests above and the sendTestEvent, then the ws operation.
    expect(logged.filter((l) => l.transport === 'http')).toHaveLength(7);

    const everything = lines.join('');
    for (const secret of [marker, newKey, service.adminKey, endpoint.secret!, 'whsec_', 'whk_', 'Bearer']) {
      expect(everything).not.toContain(secret);
    }
  });

  it('keeps a line the same size whatever the document: distinct root fields, at most 20, and refusals of the limits logged by code', async () => {
    const many = await post({ query: `query Many { ${Array.from({ length: 25 }, (_, i) => `a${i}: viewer { role } b${i}: __typename`).join(' ')} }` });
    expect(many.body.errors[0].extensions.code).toBe('BAD_USER_INPUT');
    const within = await post({ query: `query Within { ${Array.from({ length: 25 }, (_, i) => `a${i}: viewer { role }`).join(' ')} endpoints { edges { node { id } } } }` });
    expect(within.body.errors).toBeUndefined();
    const line = requestLines().find((l) => l.requestId === within.requestId)!;
    expect(line.fields).toEqual(['viewer', 'endpoints']);
    for (const l of lines) expect(l.length).toBeLessThan(4000);
  });
});
