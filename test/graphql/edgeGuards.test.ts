import { describe, expect, it } from 'vitest';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { clientAddress } from '../../server/graphql/clientAddress.js';
import { createBrowserGuard } from '../../server/graphql/browserGuard.js';
import { createFailureLimiter } from '../../server/services/failureLimiter.js';
import { maxNesting } from '../../server/graphql/queryLimits.js';

const req = (headers: Record<string, string>, method = 'POST', peer = '127.0.0.1') =>
  ({ headers, method, socket: { remoteAddress: peer } }) as unknown as IncomingMessage;

function response() {
  const out = { status: 0, headers: {} as Record<string, string>, body: '' };
  const res = {
    writeHead: (status: number, headers: Record<string, string> = {}) => ((out.status = status), Object.assign(out.headers, headers), res),
    setHeader: (name: string, value: string) => void (out.headers[name] = value),
    end: (body?: string) => void (out.body = body ?? ''),
  };
  return { res: res as unknown as ServerResponse, out };
}

describe('client address', () => {
  it('believes only the X-Forwarded-For entry added by the trusted proxies', () => {
    expect(clientAddress(req({ 'x-forwarded-for': '203.0.113.9' }), 0)).toBe('127.0.0.1');
    expect(clientAddress(req({ 'x-forwarded-for': 'forged, 203.0.113.9' }), 1)).toBe('203.0.113.9');
    expect(clientAddress(req({ 'x-forwarded-for': 'forged, 203.0.113.9, 10.0.0.2' }), 2)).toBe('203.0.113.9');
    expect(clientAddress(req({}), 1)).toBe('127.0.0.1');
  });
});

describe('failed-authentication limiter', () => {
  it('blocks a key after `perWindow` failures, and only that key', () => {
    const limiter = createFailureLimiter({ perWindow: 3, windowMs: 60_000 });
    for (let i = 0; i < 3; i++) {
      expect(limiter.isBlocked('a')).toBe(false);
      limiter.recordFailure('a');
    }
    expect(limiter.isBlocked('a')).toBe(true);
    expect(limiter.retryAfterMs('a')).toBeGreaterThan(50_000);
    expect(limiter.isBlocked('b')).toBe(false);
  });

  it('tracks a bounded number of addresses', () => {
    const limiter = createFailureLimiter({ perWindow: 1, windowMs: 60_000, maxKeys: 10 });
    for (let i = 0; i < 100; i++) limiter.recordFailure(`k${i}`);
    expect(limiter.isBlocked('k99')).toBe(true);
    expect(limiter.isBlocked('k0')).toBe(false);
  });
});

describe('browser guard', () => {
  const guard = createBrowserGuard({ origins: ['https://console.example'], publicUrl: null });

  it('grants CORS to allowed origins and the same origin only, never with credentials', () => {
    for (const [origin, granted] of [['https://console.example', true], ['http://localhost:4000', true], ['https://evil.example', false]] as const) {
      const { res, out } = response();
      expect(guard(req({ origin, host: 'localhost:4000' }, 'OPTIONS'), res)).toBe(true);
      expect(out.headers['access-control-allow-origin']).toBe(granted ? origin : undefined);
      expect(out.headers['access-control-allow-credentials']).toBeUndefined();
    }
  });

  it('refuses foreign and opaque origins, and form, multipart and text bodies (CSRF)', () => {
    for (const [headers, status] of [
      [{ origin: 'https://evil.example', 'content-type': 'application/json' }, 403],
      [{ origin: 'null', 'content-type': 'application/json' }, 403],
      [{ 'content-type': 'application/x-www-form-urlencoded' }, 415],
      [{ 'content-type': 'multipart/form-data; boundary=x' }, 415],
      [{ 'content-type': 'text/plain' }, 415],
    ] as const) {
      const { res, out } = response();
      expect(guard(req({ host: 'localhost:4000', ...headers }), res)).toBe(true);
      expect(out.status).toBe(status);
      expect(JSON.parse(out.body).errors[0].extensions.code).toBe(status === 403 ? 'FORBIDDEN' : 'BAD_USER_INPUT');
    }
    const { res } = response();
    expect(guard(req({ host: 'localhost:4000', 'content-type': 'application/json; charset=utf-8' }), res)).toBe(false);
  });
});

describe('document nesting', () => {
  it('measures bracket nesting outside strings and comments, stopping past the limit', () => {
    expect(maxNesting('{ a { b } }', 10)).toBe(2);
    expect(maxNesting('{ a(x: "{{{{{{") # {{{{{\n }', 10)).toBe(2);
    expect(maxNesting('{'.repeat(20_000), 128)).toBe(129);
    expect(maxNesting('{ a(x: """ {{{ """) }', 10)).toBe(2);
  });
});
