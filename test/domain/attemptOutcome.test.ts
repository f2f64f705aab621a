import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { classifyOutcome, describeStatus, ERROR_CLASSES, type ErrorClass } from '../../server/domain/attemptOutcome.js';

const NOW = Date.UTC(2015, 9, 21, 7, 27, 0);
const res = (status: number, headers: Record<string, string> = {}) => ({ status, headers });

describe('successes', () => {
  it.each([200, 201, 202, 204, 299])('%i succeeds with nothing else set', (status) => {
    expect(classifyOutcome(res(status), NOW)).toEqual({
      succeeded: true,
      errorClass: null,
      errorMessage: null,
      retryAfterSeconds: null,
      disableEndpoint: false,
    });
  });

  it('ignores Retry-After on a success', () => {
    expect(classifyOutcome(res(200, { 'retry-after': '60' }), NOW).retryAfterSeconds).toBeNull();
  });
});

describe('HTTP failures', () => {
  it.each([
    [500, 'Endpoint answered 500 Internal Server Error'],
    [502, 'Endpoint answered 502 Bad Gateway'],
    [504, 'Endpoint answered 504 Gateway Timeout'],
    [400, 'Endpoint answered 400 Bad Request'],
    [401, 'Endpoint answered 401 Unauthorized'],
    [404, 'Endpoint answered 404 Not Found'],
    [422, 'Endpoint answered 422 Unprocessable Content'],
    [100, 'Endpoint answered 100 Continue'],
    [599, 'Endpoint answered 599'],
    [499, 'Endpoint answered 499'],
  ])('%i is an HTTP_STATUS failure: %s', (status, message) => {
    expect(classifyOutcome(res(status), NOW)).toEqual({
      succeeded: false,
      errorClass: 'HTTP_STATUS',
      errorMessage: message,
      retryAfterSeconds: null,
      disableEndpoint: false,
    });
  });

  it('describes statuses with their reason phrase when standard', () => {
    expect(describeStatus(503)).toBe('503 Service Unavailable');
    expect(describeStatus(299)).toBe('299');
  });
});

describe('redirects', () => {
  it.each([300, 301, 302, 303, 307, 308])('%i fails and says redirects are not followed, naming the Location', (status) => {
    const o = classifyOutcome(res(status, { location: 'https://new.example.com/hook' }), NOW);
    expect(o.succeeded).toBe(false);
    expect(o.errorClass).toBe('HTTP_STATUS');
    expect(o.disableEndpoint).toBe(false);
    expect(o.errorMessage).toContain(`Endpoint answered ${describeStatus(status)}`);
    expect(o.errorMessage).toContain('redirects are not followed');
    expect(o.errorMessage).toContain('Location: https://new.example.com/hook');
  });

  it('says when the Location header is missing', () => {
    expect(classifyOutcome(res(302), NOW).errorMessage).toBe(
      'Endpoint answered 302 Found; redirects are not followed (no Location header); point the endpoint at the final URL',
    );
  });

  it('finds a Location header whatever its case', () => {
    expect(classifyOutcome(res(301, { Location: 'https://x.example' }), NOW).errorMessage).toContain('Location: https://x.example');
  });
});

describe('410 Gone', () => {
  it('disables the endpoint', () => {
    const o = classifyOutcome(res(410), NOW);
    expect(o).toEqual({
      succeeded: false,
      errorClass: 'HTTP_STATUS',
      errorMessage: 'Endpoint answered 410 Gone; the endpoint is disabled because 410 means it no longer exists',
      retryAfterSeconds: null,
      disableEndpoint: true,
    });
  });

  it('is the only status that disables', () => {
    fc.assert(
      fc.property(fc.integer({ min: 100, max: 599 }), (status) => {
        const o = classifyOutcome(res(status, { 'retry-after': '5' }), NOW);
        expect(o.disableEndpoint).toBe(status === 410);
        expect(o.succeeded).toBe(status >= 200 && status <= 299);
        expect(o.errorClass).toBe(o.succeeded ? null : 'HTTP_STATUS');
        expect(o.retryAfterSeconds).toBe(status === 429 || status === 503 ? 5 : null);
      }),
    );
  });
});

describe('429 and 503 with Retry-After', () => {
  it.each([429, 503])('%i reads delta-seconds', (status) => {
    const o = classifyOutcome(res(status, { 'retry-after': '120' }), NOW);
    expect(o.succeeded).toBe(false);
    expect(o.errorClass).toBe('HTTP_STATUS');
    expect(o.retryAfterSeconds).toBe(120);
    expect(o.disableEndpoint).toBe(false);
    expect(o.errorMessage).toBe(`Endpoint answered ${describeStatus(status)}; Retry-After asks for 120 s`);
  });

  it.each([429, 503])('%i reads an HTTP-date against the given now', (status) => {
    const o = classifyOutcome(res(status, { 'retry-after': 'Wed, 21 Oct 2015 07:28:00 GMT' }), NOW);
    expect(o.retryAfterSeconds).toBe(60);
    expect(classifyOutcome(res(status, { 'retry-after': 'Wed, 21 Oct 2015 07:28:00 GMT' }), NOW + 30_000).retryAfterSeconds).toBe(30);
  });

  it.each([429, 503])('%i without Retry-After, or with garbage, has none', (status) => {
    expect(classifyOutcome(res(status), NOW)).toEqual({
      succeeded: false,
      errorClass: 'HTTP_STATUS',
      errorMessage: `Endpoint answered ${describeStatus(status)}`,
      retryAfterSeconds: null,
      disableEndpoint: false,
    });
    expect(classifyOutcome(res(status, { 'retry-after': 'later' }), NOW).retryAfterSeconds).toBeNull();
  });

  it('finds Retry-After whatever its case', () => {
    expect(classifyOutcome(res(429, { 'Retry-After': '7' }), NOW).retryAfterSeconds).toBe(7);
  });

  it('ignores Retry-After on other failures', () => {
    expect(classifyOutcome(res(500, { 'retry-after': '120' }), NOW).retryAfterSeconds).toBeNull();
    expect(classifyOutcome(res(301, { 'retry-after': '120' }), NOW).retryAfterSeconds).toBeNull();
  });
});

describe('transport errors', () => {
  it('lists every error class', () => {
    expect([...ERROR_CLASSES].sort()).toEqual(['BLOCKED_ADDRESS', 'CONNECTION', 'DNS', 'HTTP_STATUS', 'TIMEOUT', 'TLS', 'TRANSFORMATION']);
  });

  it.each<[ErrorClass, string]>([
    ['TIMEOUT', 'No response within 15000 ms'],
    ['CONNECTION', 'Connection refused by 203.0.113.7:443'],
    ['TLS', 'Certificate has expired'],
    ['DNS', 'hooks.example.com does not resolve'],
    ['BLOCKED_ADDRESS', 'hooks.example.com resolves to 10.0.0.5, a private address'],
  ])('%s is a failure carrying its message, without retry hint or disable', (errorClass, errorMessage) => {
    expect(classifyOutcome({ errorClass, errorMessage }, NOW)).toEqual({
      succeeded: false,
      errorClass,
      errorMessage,
      retryAfterSeconds: null,
      disableEndpoint: false,
    });
  });
});
