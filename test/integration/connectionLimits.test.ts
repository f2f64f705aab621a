/**
 * Issue 16, rows 5, 9 and 10 without the latency part (that is test/faults/hostileTenants): the
 * per-socket and per-organization limits of graphql-ws operations, the browser guard (CORS
 * allowlist, CSRF-safe content types) and failed-authentication rate limiting per address, with
 * small limits so each is reached quickly.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestService, type TestService } from '../helpers/service.js';
import { liveSubscribe, wsClient } from '../helpers/live.js';

let service: TestService;
let viewerKey: string;

beforeAll(async () => {
  service = await startTestService({
    WEBHOOKS_ROLES: 'api',
    WEBHOOKS_MAX_SUBSCRIPTIONS_PER_SOCKET: '3',
    WEBHOOKS_MAX_SUBSCRIPTIONS_PER_ORG: '5',
    WEBHOOKS_AUTH_FAILURES_PER_MINUTE: '3',
    WEBHOOKS_TRUST_PROXY_HOPS: '1',
    WEBHOOKS_CORS_ORIGINS: 'https://console.example',
  });
  viewerKey = (await service.client().data(`mutation { createApiKey(role: VIEWER, name: "v") { key } }`)).createApiKey.key;
}, 60_000);

afterAll(async () => {
  await service?.close();
});

const SUB = 'subscription { deliveryAttempts { id } }';
const refusedCode = (failure: unknown) => (Array.isArray(failure) ? (failure[0] as { extensions?: { code?: string } }).extensions?.code : undefined);

describe('graphql-ws operations', () => {
  it('holds at most 3 per socket and 5 per organization, RATE_LIMITED beyond; completing one frees its place', async () => {
    const a = wsClient(service.url, viewerKey);
    const b = wsClient(service.url, viewerKey);
    try {
      const onA = Array.from({ length: 4 }, () => liveSubscribe(a, SUB));
      await onA[3]!.ended();
      expect(refusedCode(onA[3]!.failure)).toBe('RATE_LIMITED');
      expect(onA.slice(0, 3).every((s) => s.failure === null)).toBe(true);
      const onB = Array.from({ length: 3 }, () => liveSubscribe(b, SUB));
      await onB[2]!.ended();
      expect(refusedCode(onB[2]!.failure)).toBe('RATE_LIMITED');
      expect((onB[2]!.failure as { message: string }[])[0]!.message).toMatch(/organization/);
      onA[0]!.unsubscribe();
      await new Promise((r) => setTimeout(r, 200));
      const again = liveSubscribe(b, SUB);
      await new Promise((r) => setTimeout(r, 300));
      expect(again.failure).toBeNull();
    } finally {
      await a.dispose();
      await b.dispose();
    }
  });
});

describe('browsers', () => {
  const post = (headers: Record<string, string>, body = '{"query":"{ viewer { role } }"}') =>
    fetch(`${service.url}/graphql`, { method: 'POST', headers: { authorization: `Bearer ${service.adminKey}`, ...headers }, body });

  it('grants CORS to WEBHOOKS_CORS_ORIGINS and the same origin only, without credentials', async () => {
    const preflight = (origin: string) =>
      fetch(`${service.url}/graphql`, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization' } });
    expect((await preflight('https://console.example')).headers.get('access-control-allow-origin')).toBe('https://console.example');
    const evil = await preflight('https://evil.example');
    expect(evil.headers.get('access-control-allow-origin')).toBeNull();
    expect(evil.headers.get('access-control-allow-credentials')).toBeNull();
    const allowed = await post({ 'content-type': 'application/json', origin: 'https://console.example' });
    expect(allowed.headers.get('access-control-allow-origin')).toBe('https://console.example');
    expect((await allowed.json()).data.viewer.role).toBe('ADMIN');
    const refused = await post({ 'content-type': 'application/json', origin: 'https://evil.example' });
    expect(refused.status).toBe(403);
    expect((await refused.json()).errors[0].extensions.code).toBe('FORBIDDEN');
  });

  it('executes no form-encoded, multipart or text/plain POST (CSRF)', async () => {
    for (const type of ['application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'text/plain']) {
      const answer = await post({ 'content-type': type }, 'query=mutation%20%7B%20revokeApiKey(id%3A%22key_x%22)%20%7B%20id%20%7D%20%7D');
      expect(answer.status, type).toBe(415);
      expect((await answer.json()).errors[0].extensions.code).toBe('BAD_USER_INPUT');
    }
  });
});

describe('failed authentication', () => {
  it('answers RATE_LIMITED (429) to an address after 3 failures in a minute, for any key, and not to other addresses', async () => {
    const ask = (key: string, address: string) =>
      fetch(`${service.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${key}`, 'x-forwarded-for': address },
        body: '{"query":"{ viewer { role } }"}',
      });
    for (let i = 0; i < 3; i++) expect((await (await ask(`whk_guess${i}`, '203.0.113.5')).json()).errors[0].extensions.code).toBe('UNAUTHENTICATED');
    for (const key of ['whk_guess9', service.adminKey]) {
      const limited = await ask(key, '203.0.113.5');
      expect(limited.status).toBe(429);
      expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
      expect((await limited.json()).errors[0].extensions.code).toBe('RATE_LIMITED');
    }
    expect((await (await ask(service.adminKey, '203.0.113.6')).json()).data.viewer.role).toBe('ADMIN');
  });
});
