/**
 * Issue 16, rows 6–8 and 11–12 (in `npm test`; their bystander figures are in
 * test/faults/hostileTenants.test.ts): viewers see no payload-bearing data (a receiver's answer,
 * URL query strings, header values) in queries or live streams; custom header values and URL
 * query strings are sealed at rest and still sent; endpoints stored before the upgrade are
 * sealed at start; header names and values undici would refuse are refused at creation; a
 * 20,000-level document is BAD_USER_INPUT.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestService, type TestService } from '../helpers/service.js';
import { startReceiver, type Receiver } from '../helpers/receiver.js';
import { createEndpoint, publish, waitUntil } from '../helpers/flows.js';
import { liveSubscribe, wsClient } from '../helpers/live.js';
import type { GraphQLClient } from '../helpers/graphql.js';
import { sealLegacyEndpointSecrets } from '../../server/crypto/upgradeEndpointSecrets.js';
import { createSecretBox } from '../../server/crypto/secretBox.js';

const QUERY_TOKEN = 'qtok_7d1f0c2a9b';
const HEADER_TOKEN = 'Bearer hdr_5e8a41c37f';
const PAYLOAD_MARK = 'payload_mark_91c2';
const COOKIE = 'session=cookie_3b9f77';

let service: TestService;
let admin: GraphQLClient;
let viewer: GraphQLClient;
let viewerKey: string;
let echo: Receiver;

beforeAll(async () => {
  service = await startTestService();
  admin = service.client();
  viewerKey = (await admin.data(`mutation { createApiKey(role: VIEWER, name: "v") { key } }`)).createApiKey.key;
  viewer = service.client(viewerKey);
  // A receiver that echoes the request (payload included) and sets a cookie.
  echo = await startReceiver({ respond: (req) => ({ status: 200, headers: { 'set-cookie': COOKIE, 'x-echo-auth': req.headers.authorization ?? '' }, body: req.rawBody }) });
}, 60_000);

afterAll(async () => {
  await echo?.close();
  await service?.close();
});

const ATTEMPT_FIELDS = 'id responseStatus responseHeaders responseBody requestHeaders';

describe('viewers and secrets', () => {
  let endpointId: string;
  let eventId: string;

  it('sends the sealed query string and header values, stores neither in clear, and shows them masked to viewers', async () => {
    endpointId = (
      await createEndpoint(admin, {
        url: `${echo.url}/hook?token=${QUERY_TOKEN}&mode=x`,
        patterns: ['pipeline.run.failed'],
        headers: [{ name: 'Authorization', value: HEADER_TOKEN }],
      })
    ).id;
    eventId = (await publish(admin, { type: 'pipeline.run.failed', data: { mark: PAYLOAD_MARK } })).event.id;
    const [request] = await echo.waitFor(1, 10_000);
    expect(request!.path).toBe(`/hook?token=${QUERY_TOKEN}&mode=x`);
    expect(request!.headers.authorization).toBe(HEADER_TOKEN);

    // Row 8: a dump of the endpoints table holds neither secret.
    const [row] = await service.database.sql<Record<string, unknown>[]>`SELECT * FROM endpoints WHERE id = ${endpointId}`;
    const dump = JSON.stringify(row);
    expect(dump).not.toContain(QUERY_TOKEN);
    expect(dump).not.toContain('hdr_5e8a41c37f');
    expect(row!.url).toBe(`${echo.url}/hook?token=••••&mode=••••`);
    expect(row!.headers).toEqual({ Authorization: '••••' });
    expect(String(row!.url_query_sealed)).toMatch(/^v1\./);
    expect(String(row!.headers_sealed)).toMatch(/^v1\./);

    // Row 7: viewers get the URL with its query values masked, admins the URL as sent.
    const SELECT = `query($id: ID!) { endpoint(id: $id) { url headers { name value } } }`;
    expect((await viewer.data(SELECT, { id: endpointId })).endpoint).toEqual({
      url: `${echo.url}/hook?token=••••&mode=••••`,
      headers: [{ name: 'Authorization', value: '••••' }],
    });
    expect((await admin.data(SELECT, { id: endpointId })).endpoint).toEqual({
      url: `${echo.url}/hook?token=${QUERY_TOKEN}&mode=x`,
      headers: [{ name: 'Authorization', value: HEADER_TOKEN }],
    });
    const list = JSON.stringify(await viewer.data(`{ endpoints(first: 50) { edges { node { url headers { value } } } } }`));
    expect(list).not.toContain(QUERY_TOKEN);
    expect(list).not.toContain('hdr_5e8a41c37f');
  });

  it('gives viewers no response body or headers and no payload, in queries (row 6)', async () => {
    const delivery = await waitUntil('the attempt', async () => {
      const d = (await admin.data(`query($id: ID!) { event(id: $id) { deliveries { id attempts { ${ATTEMPT_FIELDS} } } } }`, { id: eventId })).event.deliveries[0];
      return d?.attempts.length ? d : null;
    });
    // Admins see the receiver's answer, echoing the payload and setting a cookie.
    expect(delivery.attempts[0].responseBody).toContain(PAYLOAD_MARK);
    expect(delivery.attempts[0].responseHeaders['set-cookie']).toBe(COOKIE);
    const seen = await viewer.data(
      `query($e: ID!, $d: ID!) { event(id: $e) { data } delivery(id: $d) { attempts { ${ATTEMPT_FIELDS} } lastAttempt { responseBody responseHeaders } }
        deliveries(first: 10) { edges { node { lastAttempt { responseBody responseHeaders } } } } events(first: 10) { edges { node { data } } } }`,
      { e: eventId, d: delivery.id },
    );
    expect(seen.event.data).toBeNull();
    expect(seen.delivery.attempts[0]).toMatchObject({ responseStatus: 200, responseBody: null, responseHeaders: null });
    expect(seen.delivery.lastAttempt).toEqual({ responseBody: null, responseHeaders: null });
    const text = JSON.stringify(seen);
    for (const secret of [PAYLOAD_MARK, 'cookie_3b9f77', 'hdr_5e8a41c37f', QUERY_TOKEN]) expect(text).not.toContain(secret);
  });

  it('gives viewers no response body, headers, URL query or header values in live streams (rows 6 and 7)', async () => {
    const QUERY = `subscription($id: ID) { deliveryAttempts(endpointId: $id) { id responseBody responseHeaders requestHeaders endpoint { url headers { name value } } } }`;
    const viewerSocket = wsClient(service.url, viewerKey);
    const adminSocket = wsClient(service.url, service.adminKey);
    try {
      const seenByViewer = liveSubscribe(viewerSocket, QUERY, { id: endpointId });
      const seenByAdmin = liveSubscribe(adminSocket, QUERY, { id: endpointId });
      // Publish until both streams (started lazily) have carried an attempt.
      await waitUntil('an attempt on both streams', async () => {
        if (seenByViewer.messages.length > 0 && seenByAdmin.messages.length > 0) return true;
        await publish(admin, { type: 'pipeline.run.failed', data: { mark: PAYLOAD_MARK } });
        await new Promise((r) => setTimeout(r, 500));
        return false;
      }, 20_000);
      const [forViewer] = seenByViewer.messages;
      const [forAdmin] = seenByAdmin.messages;
      expect(forAdmin.responseBody).toContain(PAYLOAD_MARK);
      expect(forAdmin.endpoint.url).toContain(QUERY_TOKEN);
      expect(forViewer).toMatchObject({ responseBody: null, responseHeaders: null, endpoint: { headers: [{ name: 'Authorization', value: '••••' }] } });
      const text = JSON.stringify(forViewer);
      for (const secret of [PAYLOAD_MARK, 'cookie_3b9f77', 'hdr_5e8a41c37f', QUERY_TOKEN]) expect(text).not.toContain(secret);
      seenByViewer.unsubscribe();
      seenByAdmin.unsubscribe();
    } finally {
      await viewerSocket.dispose();
      await adminSocket.dispose();
    }
  });

  it('seals, at start, the query strings and header values of endpoints stored in clear before the upgrade, and still sends them', async () => {
    const { id } = await createEndpoint(admin, { url: `${echo.url}/legacy` });
    const sql = service.database.sql;
    // The endpoint as the previous version stored it: URL and header values in clear.
    await sql`UPDATE endpoints SET url = ${`${echo.url}/legacy?key=${QUERY_TOKEN}`}, headers = ${sql.json({ 'X-Legacy': HEADER_TOKEN })},
                url_query_sealed = NULL, headers_sealed = NULL WHERE id = ${id}`;
    expect(await sealLegacyEndpointSecrets(sql, createSecretBox(Buffer.from(service.masterKey, 'base64'), []))).toBe(1);
    expect(await sealLegacyEndpointSecrets(sql, createSecretBox(Buffer.from(service.masterKey, 'base64'), []))).toBe(0);
    const [row] = await sql<Record<string, unknown>[]>`SELECT * FROM endpoints WHERE id = ${id}`;
    expect(JSON.stringify(row)).not.toContain(QUERY_TOKEN);
    expect(JSON.stringify(row)).not.toContain('hdr_5e8a41c37f');
    expect((await admin.data(`query($id: ID!) { endpoint(id: $id) { url headers { value } } }`, { id })).endpoint).toEqual({
      url: `${echo.url}/legacy?key=${QUERY_TOKEN}`,
      headers: [{ value: HEADER_TOKEN }],
    });
    const before = echo.requests.length;
    const sent = await admin.data(`mutation($id: ID!) { sendTestEvent(endpointId: $id) { succeeded } }`, { id });
    expect(sent.sendTestEvent.succeeded).toBe(true);
    const request = echo.requests.slice(before).find((r) => r.path.startsWith('/legacy'))!;
    expect(request.path).toBe(`/legacy?key=${QUERY_TOKEN}`);
    expect(request.headers['x-legacy']).toBe(HEADER_TOKEN);
  });
});

describe('refused at the edge (rows 11 and 12)', () => {
  it.each([
    ['Expect', '100-continue'],
    ['Upgrade', 'websocket'],
    ['Keep-Alive', 'timeout=5'],
    ['Connection', 'close'],
    ['Transfer-Encoding', 'chunked'],
    ['X-Bell', 'a\u0007b'],
    ['X-Wide', 'token€'],
  ])('refuses the header %s with BAD_USER_INPUT naming it, on create and update, writing nothing', async (name, value) => {
    const before = (await service.database.sql`SELECT count(*)::int AS n FROM endpoints`)[0]!.n;
    const created = await admin.error(`mutation($input: CreateEndpointInput!) { createEndpoint(input: $input) { endpoint { id } } }`, {
      input: { url: `${echo.url}/h`, headers: [{ name, value }] },
    });
    expect(created.code).toBe('BAD_USER_INPUT');
    expect(created.message).toContain(name);
    expect((await service.database.sql`SELECT count(*)::int AS n FROM endpoints`)[0]!.n).toBe(before);
    const { id } = await createEndpoint(admin, { url: `${echo.url}/ok` });
    const updated = await admin.error(`mutation($id: ID!, $input: UpdateEndpointInput!) { updateEndpoint(id: $id, input: $input) { id } }`, {
      id,
      input: { headers: [{ name, value }] },
    });
    expect(updated.code).toBe('BAD_USER_INPUT');
    expect(updated.message).toContain(name);
    expect(JSON.stringify(updated.extensions)).not.toContain(value);
  });

  it('answers a 20,000-level nested document with BAD_USER_INPUT, not a 500', async () => {
    for (const query of ['{'.repeat(20_000) + '}'.repeat(20_000), `{ viewer ${'{ org '.repeat(20_000)}${'}'.repeat(20_000)} }`, `query { a(x: ${'['.repeat(20_000)}${']'.repeat(20_000)}) }`]) {
      const response = await admin.request(query);
      expect(response.status, query.slice(0, 30)).toBeLessThan(500);
      expect(response.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
      expect(response.errors?.[0]?.message).toMatch(/nested more than/);
      // Without a key, a body over 64 KiB is refused before it is read.
      const anonymous = await service.client(null).request(query);
      expect(anonymous.status).toBeLessThan(500);
      expect(anonymous.errors?.[0]?.extensions?.code).toBe(query.length > 64 * 1024 ? 'PAYLOAD_TOO_LARGE' : 'BAD_USER_INPUT');
    }
  });

  it('refuses over-limit documents on graphql-ws as errors of the operation, keeping the socket open', async () => {
    const socket = wsClient(service.url, service.adminKey);
    try {
      for (const query of [
        `subscription { ${Array.from({ length: 40 }, (_, i) => `a${i}: deliveryAttempts { id }`).join(' ')} }`,
        `subscription { deliveryAttempts ${'{ delivery '.repeat(200)}${'}'.repeat(200)} }`,
      ]) {
        const refused = liveSubscribe(socket, query);
        await refused.ended();
        const errors = refused.failure as { extensions?: { code?: string } }[];
        expect(errors[0]?.extensions?.code).toBe('BAD_USER_INPUT');
      }
      const fine = liveSubscribe(socket, 'subscription { endpointHealth { endpoint { id } } }');
      await new Promise((r) => setTimeout(r, 300));
      expect(fine.failure).toBeNull();
      fine.unsubscribe();
    } finally {
      await socket.dispose();
    }
  });
});
