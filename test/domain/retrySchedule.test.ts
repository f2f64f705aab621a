import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_RETRY_POLICY,
  nominalDelaySeconds,
  parseHttpDate,
  parseRetryAfter,
  retryDelayMs,
  validateRetryPolicy,
  type RetryPolicy,
} from '../../server/domain/retrySchedule.js';

const P = DEFAULT_RETRY_POLICY;
const HOUR_10_MS = 36_000_000;
const ALMOST_ONE = 1 - Number.EPSILON;

describe('DEFAULT_RETRY_POLICY', () => {
  it('is the SPEC default 5 s ×6 capped at 36,000 s, 8 attempts', () => {
    expect(DEFAULT_RETRY_POLICY).toEqual({ initialBackoffSeconds: 5, multiplier: 6, maxBackoffSeconds: 36_000, maxAttempts: 8 });
    expect(Object.isFrozen(DEFAULT_RETRY_POLICY)).toBe(true);
  });
});

describe('retryDelayMs', () => {
  it('follows the exact default schedule with random = 0.5 (no jitter)', () => {
    const delays = [1, 2, 3, 4, 5, 6, 7].map((n) => retryDelayMs(P, n, 0.5));
    expect(delays).toEqual([5, 30, 180, 1080, 6480, 36_000, 36_000].map((s) => s * 1000));
  });

  it('is null once maxAttempts attempts were made: the delivery is dead', () => {
    expect(retryDelayMs(P, 8, 0.5)).toBeNull();
    expect(retryDelayMs(P, 9, 0.5)).toBeNull();
    expect(retryDelayMs({ ...P, maxAttempts: 1 }, 1, 0.5)).toBeNull();
    expect(retryDelayMs({ ...P, maxAttempts: 2 }, 1, 0.5)).toBe(5000);
  });

  it('applies -20% jitter at random = 0 and about +20% just below 1', () => {
    expect(retryDelayMs(P, 1, 0)).toBe(4000);
    expect(retryDelayMs(P, 2, 0)).toBe(24_000);
    expect(retryDelayMs(P, 1, ALMOST_ONE)).toBe(6000);
    expect(retryDelayMs(P, 3, ALMOST_ONE)).toBe(216_000);
    expect(retryDelayMs(P, 1, 0.25)).toBe(4500);
  });

  it('never exceeds maxBackoffSeconds, even with upward jitter, but jitters downward from the cap', () => {
    expect(retryDelayMs(P, 6, ALMOST_ONE)).toBe(HOUR_10_MS);
    expect(retryDelayMs(P, 7, ALMOST_ONE)).toBe(HOUR_10_MS);
    expect(retryDelayMs(P, 6, 0)).toBe(28_800_000);
    // 6480 s × 1.2 = 7776 s is below the cap and is kept.
    expect(retryDelayMs(P, 5, ALMOST_ONE)).toBe(7_776_000);
    expect(retryDelayMs({ ...P, maxBackoffSeconds: 7000 }, 5, ALMOST_ONE)).toBe(7_000_000);
  });

  it('handles multiplier 1 (constant backoff) and huge exponents without overflow', () => {
    const flat = { initialBackoffSeconds: 30, multiplier: 1, maxBackoffSeconds: 60, maxAttempts: 50 };
    expect(retryDelayMs(flat, 1, 0.5)).toBe(30_000);
    expect(retryDelayMs(flat, 49, 0.5)).toBe(30_000);
    const steep = { initialBackoffSeconds: 3600, multiplier: 10, maxBackoffSeconds: 86_400, maxAttempts: 50 };
    expect(retryDelayMs(steep, 49, 0.5)).toBe(86_400_000);
  });

  it('waits at least Retry-After, capped at maxBackoffSeconds', () => {
    expect(retryDelayMs(P, 1, 0.5, 120)).toBe(120_000);
    expect(retryDelayMs(P, 1, 0.5, 2)).toBe(5000);
    expect(retryDelayMs(P, 1, 0.5, 10_000_000)).toBe(HOUR_10_MS);
    expect(retryDelayMs({ ...P, maxBackoffSeconds: 60 }, 1, 0.5, 3600)).toBe(60_000);
    expect(retryDelayMs(P, 1, 0.5, 0)).toBe(5000);
    expect(retryDelayMs(P, 1, 0.5, null)).toBe(5000);
    expect(retryDelayMs(P, 1, 0.5, undefined)).toBe(5000);
  });

  it('does not let Retry-After revive a dead delivery', () => {
    expect(retryDelayMs(P, 8, 0.5, 30)).toBeNull();
  });

  it('rejects arguments that reveal a caller bug', () => {
    expect(() => retryDelayMs(P, 0, 0.5)).toThrow(RangeError);
    expect(() => retryDelayMs(P, 1.5, 0.5)).toThrow(RangeError);
    expect(() => retryDelayMs(P, 1, 1)).toThrow(RangeError);
    expect(() => retryDelayMs(P, 1, -0.1)).toThrow(RangeError);
    expect(() => retryDelayMs(P, 1, Number.NaN)).toThrow(RangeError);
  });

  const validPolicy = fc
    .record({
      initialBackoffSeconds: fc.integer({ min: 1, max: 3600 }),
      multiplier: fc.double({ min: 1, max: 10, noNaN: true }),
      extra: fc.integer({ min: 0, max: 86_400 }),
      maxAttempts: fc.integer({ min: 1, max: 50 }),
    })
    .map(({ extra, ...p }) => ({ ...p, maxBackoffSeconds: Math.min(86_400, p.initialBackoffSeconds + extra) }));
  const unit = fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true });

  it('property: the delay lies in [0.8 × nominal, min(1.2 × nominal, max)] and is null exactly when attempts are exhausted', () => {
    fc.assert(
      fc.property(validPolicy, fc.integer({ min: 1, max: 60 }), unit, (policy, n, random) => {
        expect(validateRetryPolicy(policy)).toEqual([]);
        const delay = retryDelayMs(policy, n, random);
        if (n >= policy.maxAttempts) {
          expect(delay).toBeNull();
          return;
        }
        const nominal = nominalDelaySeconds(policy, n) * 1000;
        expect(delay).not.toBeNull();
        expect(delay!).toBeGreaterThanOrEqual(Math.floor(0.8 * nominal));
        expect(delay!).toBeLessThanOrEqual(Math.ceil(Math.min(1.2 * nominal, policy.maxBackoffSeconds * 1000)));
      }),
    );
  });

  it('property: more random never means a shorter wait, and later attempts never wait less nominally', () => {
    fc.assert(
      fc.property(validPolicy, fc.integer({ min: 1, max: 49 }), unit, unit, (policy, n, a, b) => {
        const p = { ...policy, maxAttempts: 50 };
        const [lo, hi] = a <= b ? [a, b] : [b, a];
        expect(retryDelayMs(p, n, lo)!).toBeLessThanOrEqual(retryDelayMs(p, n, hi)!);
        expect(nominalDelaySeconds(p, n)).toBeLessThanOrEqual(nominalDelaySeconds(p, n + 1));
      }),
    );
  });

  it('property: with Retry-After the delay is at least min(retryAfter, max) and never above max', () => {
    fc.assert(
      fc.property(validPolicy, unit, fc.integer({ min: 0, max: 200_000 }), (policy, random, retryAfter) => {
        const p = { ...policy, maxAttempts: 50 };
        const delay = retryDelayMs(p, 1, random, retryAfter)!;
        expect(delay).toBeGreaterThanOrEqual(Math.min(retryAfter, p.maxBackoffSeconds) * 1000);
        expect(delay).toBeLessThanOrEqual(p.maxBackoffSeconds * 1000);
      }),
    );
  });
});

describe('parseRetryAfter', () => {
  const now = Date.UTC(2015, 9, 21, 7, 27, 0); // Wed, 21 Oct 2015 07:27:00 GMT

  it('reads delta-seconds', () => {
    expect(parseRetryAfter('120', now)).toBe(120);
    expect(parseRetryAfter(' 120 ', now)).toBe(120);
    expect(parseRetryAfter('0', now)).toBe(0);
  });

  it('turns a negative delta into 0', () => {
    expect(parseRetryAfter('-5', now)).toBe(0);
  });

  it('is null when absent or invalid', () => {
    for (const v of [undefined, null, '', '   ', 'soon', '1.5', '12s', '0x10', 'Wed, 21 Oct 2015', 'wed, 21 oct 2015 07:28:00 gmt']) {
      expect(parseRetryAfter(v, now), String(v)).toBeNull();
    }
  });

  it('reads an IMF-fixdate HTTP-date relative to now, rounding up', () => {
    expect(parseRetryAfter('Wed, 21 Oct 2015 07:28:00 GMT', now)).toBe(60);
    expect(parseRetryAfter('Wed, 21 Oct 2015 07:28:00 GMT', now + 500)).toBe(60);
    expect(parseRetryAfter('Wed, 21 Oct 2015 07:28:00 GMT', now + 1000)).toBe(59);
    expect(parseRetryAfter('Thu, 22 Oct 2015 07:27:00 GMT', now)).toBe(86_400);
  });

  it('turns a date in the past into 0', () => {
    expect(parseRetryAfter('Wed, 21 Oct 2015 07:00:00 GMT', now)).toBe(0);
  });

  it('reads the obsolete RFC 850 and asctime forms as UTC', () => {
    expect(parseRetryAfter('Wednesday, 21-Oct-15 07:28:00 GMT', now)).toBe(60);
    expect(parseRetryAfter('Wed Oct 21 07:28:00 2015', now)).toBe(60);
    expect(parseHttpDate('Thu Oct  1 00:00:00 2015', now)).toBe(Date.UTC(2015, 9, 1));
  });

  it('rejects impossible calendar dates', () => {
    expect(parseHttpDate('Sun, 31 Feb 2015 07:28:00 GMT', now)).toBeNull();
    expect(parseHttpDate('Wed, 21 Foo 2015 07:28:00 GMT', now)).toBeNull();
    expect(parseHttpDate('Wed, 21 Oct 2015 25:28:00 GMT', now)).toBeNull();
  });

  it('maps RFC 850 two-digit years into the 50-year window around now', () => {
    expect(parseHttpDate('Sunday, 06-Nov-94 08:49:37 GMT', Date.UTC(2026, 0, 1))).toBe(Date.UTC(1994, 10, 6, 8, 49, 37));
    expect(parseHttpDate('Friday, 06-Nov-26 08:49:37 GMT', Date.UTC(2026, 0, 1))).toBe(Date.UTC(2026, 10, 6, 8, 49, 37));
  });

  it('property: delta-seconds round-trip, HTTP-dates from toUTCString round-trip', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10_000_000 }), (s) => {
        expect(parseRetryAfter(String(s), now)).toBe(s);
        expect(parseRetryAfter(new Date(now + s * 1000).toUTCString(), now)).toBe(s);
      }),
    );
  });
});

describe('validateRetryPolicy', () => {
  const ok: RetryPolicy = { ...DEFAULT_RETRY_POLICY };

  it('accepts the default and the edges of every range', () => {
    expect(validateRetryPolicy(ok)).toEqual([]);
    expect(validateRetryPolicy({ initialBackoffSeconds: 1, multiplier: 1, maxBackoffSeconds: 1, maxAttempts: 1 })).toEqual([]);
    expect(validateRetryPolicy({ initialBackoffSeconds: 3600, multiplier: 10, maxBackoffSeconds: 86_400, maxAttempts: 50 })).toEqual([]);
    expect(validateRetryPolicy({ ...ok, multiplier: 1.5 })).toEqual([]);
  });

  it.each([
    ['initialBackoffSeconds', { initialBackoffSeconds: 0 }, 'initialBackoffSeconds must be a whole number between 1 and 3600 (got 0)'],
    ['initialBackoffSeconds', { initialBackoffSeconds: 3601, maxBackoffSeconds: 36_000 }, 'initialBackoffSeconds must be a whole number between 1 and 3600 (got 3601)'],
    ['initialBackoffSeconds', { initialBackoffSeconds: 2.5 }, 'initialBackoffSeconds must be a whole number between 1 and 3600 (got 2.5)'],
    ['multiplier', { multiplier: 0.5 }, 'multiplier must be between 1 and 10 (got 0.5)'],
    ['multiplier', { multiplier: 11 }, 'multiplier must be between 1 and 10 (got 11)'],
    ['multiplier', { multiplier: Number.NaN }, 'multiplier must be between 1 and 10 (got NaN)'],
    ['maxBackoffSeconds', { maxBackoffSeconds: 86_401 }, 'maxBackoffSeconds must be a whole number between initialBackoffSeconds (5) and 86400 (got 86401)'],
    ['maxBackoffSeconds', { maxBackoffSeconds: 4 }, 'maxBackoffSeconds must be a whole number between initialBackoffSeconds (5) and 86400 (got 4)'],
    ['maxAttempts', { maxAttempts: 0 }, 'maxAttempts must be a whole number between 1 and 50 (got 0)'],
    ['maxAttempts', { maxAttempts: 51 }, 'maxAttempts must be a whole number between 1 and 50 (got 51)'],
    ['maxAttempts', { maxAttempts: 2.5 }, 'maxAttempts must be a whole number between 1 and 50 (got 2.5)'],
  ])('explains a bad %s with its allowed range', (_field, change, message) => {
    expect(validateRetryPolicy({ ...ok, ...change })).toEqual([message]);
  });

  it('reports every problem at once', () => {
    const problems = validateRetryPolicy({ initialBackoffSeconds: 0, multiplier: 0, maxBackoffSeconds: 0, maxAttempts: 0 });
    expect(problems).toHaveLength(4);
    expect(problems[2]).toBe('maxBackoffSeconds must be a whole number between 1 and 86400 (got 0)');
  });

  it('reports a wrongly typed field instead of crashing', () => {
    expect(validateRetryPolicy({ ...ok, maxAttempts: '8' as unknown as number })).toEqual([
      'maxAttempts must be a whole number between 1 and 50 (got "8")',
    ]);
  });
});
