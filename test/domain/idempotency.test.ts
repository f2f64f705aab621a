import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  canonicalJson,
  conflictMessage,
  idempotencyKeyProblem,
  judgeClaim,
  keepResponse,
  requestFingerprint,
} from '../../server/domain/idempotency.js';

describe('idempotencyKeyProblem', () => {
  it('accepts 1–255 visible ASCII characters', () => {
    for (const key of ['a', '550e8400-e29b-41d4-a716-446655440000', 'deploy:42/step~3', '!'.repeat(255)]) expect(idempotencyKeyProblem(key), key).toBeNull();
  });
  it('refuses empty, overlong, spaces, control and non-ASCII characters', () => {
    for (const key of ['', 'x'.repeat(256), 'a b', 'a\tb', 'é', '\u0000']) expect(idempotencyKeyProblem(key), JSON.stringify(key)).toMatch(/visible ASCII/);
  });
});

describe('canonicalJson / requestFingerprint', () => {
  it('ignores object key order at every depth but not array order', () => {
    expect(canonicalJson({ b: 1, a: { d: [2, 1], c: null } })).toBe('{"a":{"c":null,"d":[2,1]},"b":1}');
    expect(canonicalJson({ a: undefined, b: [undefined] })).toBe('{"b":[null]}');
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue()), (obj) => {
        const reversed = Object.fromEntries(Object.entries(obj).reverse());
        expect(canonicalJson(reversed)).toBe(canonicalJson(obj));
        expect(JSON.parse(canonicalJson(obj))).toEqual(JSON.parse(JSON.stringify(obj)));
      }),
    );
  });

  it('writes values nested deeper than the call stack (a request body has no depth limit)', () => {
    let deep: unknown = {};
    for (let i = 0; i < 100_000; i++) deep = { a: [deep] };
    const text = canonicalJson(deep);
    expect(text.startsWith('{"a":[{"a":[')).toBe(true);
    expect(text.length).toBe(100_000 * 8 + 2);
    expect(requestFingerprint({ operation: 'm', variables: { deep } })).toMatch(/^[0-9a-f]{64}$/);
  });

  it('tells requests apart by operation, name and variables', () => {
    const base = { operation: 'mutation { a }', operationName: null, variables: { x: 1, y: 2 } };
    expect(requestFingerprint(base)).toBe(requestFingerprint({ ...base, variables: { y: 2, x: 1 } }));
    expect(requestFingerprint(base)).toMatch(/^[0-9a-f]{64}$/);
    expect(requestFingerprint(base)).not.toBe(requestFingerprint({ ...base, variables: { x: 1, y: 3 } }));
    expect(requestFingerprint(base)).not.toBe(requestFingerprint({ ...base, operation: 'mutation { b }' }));
    expect(requestFingerprint(base)).not.toBe(requestFingerprint({ ...base, operationName: 'A' }));
    expect(requestFingerprint({ operation: 'm', variables: {} })).toBe(requestFingerprint({ operation: 'm' }));
  });
});

describe('keepResponse', () => {
  it('keeps successes and expected failures', () => {
    expect(keepResponse({ data: { a: 1 } })).toBe(true);
    expect(keepResponse({ data: null, errors: [{ extensions: { code: 'BAD_USER_INPUT' } }] })).toBe(true);
    expect(keepResponse({ data: null, errors: [{ extensions: { code: 'NOT_FOUND' } }, { extensions: { code: 'FORBIDDEN' } }] })).toBe(true);
  });
  it('releases the key when nothing was done and the failure was transient', () => {
    expect(keepResponse({ data: null, errors: [{ extensions: { code: 'INTERNAL_SERVER_ERROR' } }] })).toBe(false);
    expect(keepResponse({ data: { a: null }, errors: [{ extensions: { code: 'RATE_LIMITED' } }] })).toBe(false);
    expect(keepResponse({ errors: [{}] })).toBe(false);
    expect(keepResponse({ data: null, errors: [{ extensions: { code: 'BAD_USER_INPUT' } }, { extensions: { code: 'INTERNAL_SERVER_ERROR' } }] })).toBe(false);
  });
  it('keeps a response where some root field did its work, whatever else failed', () => {
    expect(keepResponse({ data: { a: { id: 1 }, b: null }, errors: [{ extensions: { code: 'INTERNAL_SERVER_ERROR' } }] })).toBe(true);
  });
});

describe('judgeClaim', () => {
  const request = { requestHash: 'h', apiKeyId: 'key_1' };
  const claim = { state: 'DONE' as const, requestHash: 'h', apiKeyId: 'key_1', leaseUntilMs: null };
  it('replays a finished claim of the same request and key', () => {
    expect(judgeClaim(claim, request, 0)).toBe('REPLAY');
  });
  it('refuses another API key before looking at the request', () => {
    expect(judgeClaim({ ...claim, apiKeyId: 'key_2', requestHash: 'other' }, request, 0)).toBe('OTHER_API_KEY');
    expect(judgeClaim({ ...claim, requestHash: 'other' }, request, 0)).toBe('DIFFERENT_REQUEST');
    expect(judgeClaim({ ...claim, state: 'RUNNING', requestHash: 'other', leaseUntilMs: 10 }, request, 0)).toBe('DIFFERENT_REQUEST');
  });
  it('waits for a running claim while its lease holds, then calls it abandoned', () => {
    const running = { ...claim, state: 'RUNNING' as const, leaseUntilMs: 1000 };
    expect(judgeClaim(running, request, 999)).toBe('WAIT');
    expect(judgeClaim(running, request, 1000)).toBe('ABANDONED');
    expect(judgeClaim({ ...running, leaseUntilMs: null }, request, 0)).toBe('ABANDONED');
  });
});

describe('conflictMessage', () => {
  it('says what to do for every conflict and shortens long keys', () => {
    for (const verdict of ['DIFFERENT_REQUEST', 'OTHER_API_KEY', 'ABANDONED', 'STILL_RUNNING'] as const) {
      const message = conflictMessage(verdict, 'k-1');
      expect(message).toContain('"k-1"');
      expect(message).toMatch(/key|retry/i);
    }
    expect(conflictMessage('DIFFERENT_REQUEST', 'z'.repeat(255)).length).toBeLessThan(250);
  });
});
