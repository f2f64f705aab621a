/**
 * Address guard (fast): with an empty WEBHOOKS_ALLOWED_CIDRS nothing reaches loopback, whatever
 * the spelling of the address (IPv4 shorthands, decimal, hex, octal, IPv4-mapped IPv6, trailing
 * dot), through DNS names that resolve to it, or through a redirect from an allowed receiver.
 * Real receivers listen on 127.0.0.1 and ::1 and must see no connection at all. Other ranges
 * (private, link-local, CGNAT, metadata, ...) are covered by the classifier's unit tests
 * (test/domain/addressGuard.test.ts): tests send traffic only to loopback.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestService, type TestService } from '../helpers/service.js';
import { startReceiver, type Receiver } from '../helpers/receiver.js';
import { attemptsOf, createEndpoint, publish, waitForDeliveries } from '../helpers/flows.js';
import { recordFigures } from './support.js';

const CREATE = `mutation($input: CreateEndpointInput!) { createEndpoint(input: $input) { endpoint { id } } }`;
const UPDATE = `mutation($id: ID!, $input: UpdateEndpointInput!) { updateEndpoint(id: $id, input: $input) { id url } }`;
const once = { initialBackoffSeconds: 1, multiplier: 1, maxBackoffSeconds: 1, maxAttempts: 2 };

let guarded: TestService;
let v4: Receiver;
let v6: Receiver;
const figures = { literalSpellingsRefused: 0, namesBlockedAtConnect: 0, redirectsNotFollowed: 0 };

beforeAll(async () => {
  guarded = await startTestService({ WEBHOOKS_ALLOWED_CIDRS: '' });
  v4 = await startReceiver();
  v6 = await startReceiver({ host: '::1' });
});
afterAll(async () => {
  recordFigures('addressGuard', figures);
  await v4?.close();
  await v6?.close();
  await guarded?.close();
});

describe('empty allowlist: loopback is unreachable', () => {
  it('refuses every literal spelling of a loopback or unspecified address, at creation and on update; nothing is written', async () => {
    const p = v4.port;
    const q = v6.port;
    const literals = [
      `http://127.0.0.1:${p}/`,
      `http://127.1:${p}/`,
      `http://127.0.1:${p}/`,
      `http://2130706433:${p}/`,
      `http://0x7f000001:${p}/`,
      `http://0x7f.0.0.1:${p}/`,
      `http://0177.0.0.1:${p}/`,
      `http://127.0.0.1.:${p}/`,
      `http://127.255.255.254:${p}/`,
      `http://0.0.0.0:${p}/`,
      `http://0:${p}/`,
      `http://[::1]:${q}/`,
      `http://[0:0:0:0:0:0:0:1]:${q}/`,
      `http://[::]:${q}/`,
      `http://[::ffff:127.0.0.1]:${p}/`,
      `http://[::ffff:7f00:1]:${p}/`,
      `http://[0:0:0:0:0:ffff:127.0.0.1]:${p}/`,
      `https://[::ffff:127.0.0.1]:${p}/`,
    ];
    const admin = guarded.client();
    const parked = await createEndpoint(admin, { url: 'https://hooks.example.com/parked', patterns: ['orchestration.job.queued'] });
    const before = (await guarded.database.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM endpoints`)[0]!.n;
    for (const url of literals) {
      const created = await admin.error(CREATE, { input: { url, patterns: ['*'] } });
      expect(created.code, url).toBe('BAD_USER_INPUT');
      expect(created.message, url).toMatch(/WEBHOOKS_ALLOWED_CIDRS/);
      const updated = await admin.error(UPDATE, { id: parked.id, input: { url } });
      expect(updated.code, url).toBe('BAD_USER_INPUT');
      figures.literalSpellingsRefused++;
    }
    const after = (await guarded.database.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM endpoints`)[0]!.n;
    expect(after).toBe(before);
    const url = (await guarded.database.sql<{ url: string }[]>`SELECT url FROM endpoints WHERE id = ${parked.id}`)[0]!.url;
    expect(url).toBe('https://hooks.example.com/parked');
    expect(v4.connectionCount + v6.connectionCount).toBe(0);
  });

  it('blocks DNS names that resolve to loopback at connect time, for scheduled deliveries and test events alike', async () => {
    const admin = guarded.client();
    // Names from /etc/hosts only: no query leaves the machine.
    const names = [`http://localhost:${v4.port}/dns`, `http://LOCALHOST:${v4.port}/dns-upper`, `http://LocalHost:${v4.port}/dns-mixed`];
    const endpoints: string[] = [];
    for (const url of names) endpoints.push((await createEndpoint(admin, { url, patterns: ['pipeline.run.started'], retryPolicy: once })).id);
    const published = await publish(admin, { type: 'pipeline.run.started', data: { guard: true } });
    const deliveries = await waitForDeliveries(guarded, published.event.id, ['DEAD'], 15_000);
    expect(deliveries).toHaveLength(names.length);
    for (const d of deliveries) {
      const attempts = await attemptsOf(guarded, d.id);
      expect(attempts.map((a) => a.error_class)).toEqual(['BLOCKED_ADDRESS', 'BLOCKED_ADDRESS']);
      expect(attempts[0]!.error_message).toMatch(/loopback/);
      figures.namesBlockedAtConnect++;
    }
    for (const id of endpoints) {
      const test = await admin.data(`mutation($id: ID!) { sendTestEvent(endpointId: $id) { succeeded errorClass } }`, { id });
      expect(test.sendTestEvent).toEqual({ succeeded: false, errorClass: 'BLOCKED_ADDRESS' });
    }
    expect(v4.connectionCount + v6.connectionCount).toBe(0);
    expect(v4.requests).toHaveLength(0);
  });
});

describe('redirects toward loopback', () => {
  let relay: TestService;
  let redirector: Receiver;

  beforeAll(async () => {
    // Only 127.0.0.2 is allowed: the redirector there is reachable, 127.0.0.1 and ::1 are not.
    relay = await startTestService({ WEBHOOKS_ALLOWED_CIDRS: '127.0.0.2/32' });
    const targets = [`http://127.0.0.1:${v4.port}/stolen`, `http://localhost:${v4.port}/stolen`, `http://[::1]:${v6.port}/stolen`];
    redirector = await startReceiver({
      host: '127.0.0.2' as '127.0.0.1',
      respond: (_req, i) => ({ status: [302, 307, 308, 301][i % 4]!, headers: { location: targets[i % targets.length]! } }),
    });
  });
  afterAll(async () => {
    await redirector?.close();
    await relay?.close();
  });

  it('are never followed (3xx is a failure): the loopback receivers see nothing, on deliveries and test events', async () => {
    const admin = relay.client();
    const endpoint = await createEndpoint(admin, { url: `${redirector.url}/hop`, patterns: ['pipeline.run.failed'], retryPolicy: once });
    const events = [];
    for (let i = 0; i < 4; i++) events.push(await publish(admin, { type: 'pipeline.run.failed', data: { i } }));
    for (const e of events) {
      const [delivery] = await waitForDeliveries(relay, e.event.id, ['DEAD'], 15_000);
      const attempts = await attemptsOf(relay, delivery!.id);
      expect(attempts).toHaveLength(2);
      for (const a of attempts) {
        expect(a.error_class).toBe('HTTP_STATUS');
        expect([301, 302, 307, 308]).toContain(a.response_status);
        figures.redirectsNotFollowed++;
      }
    }
    const test = await admin.data(`mutation($id: ID!) { sendTestEvent(endpointId: $id) { succeeded errorClass responseStatus } }`, { id: endpoint.id });
    expect(test.sendTestEvent.succeeded).toBe(false);
    expect(test.sendTestEvent.errorClass).toBe('HTTP_STATUS');
    expect(redirector.requests.length).toBe(events.length * 2 + 1);
    expect(v4.connectionCount + v6.connectionCount).toBe(0);
    // The allowlist is exact: a neighbour of the allowed address is still refused.
    for (const url of [`http://127.0.0.1:${redirector.port}/`, `http://127.0.0.3:${redirector.port}/`]) {
      expect((await admin.error(CREATE, { input: { url } })).code).toBe('BAD_USER_INPUT');
    }
  });
});
