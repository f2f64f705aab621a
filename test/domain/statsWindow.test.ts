import { describe, expect, it } from 'vitest';
import { DomainError } from '../../server/domain/errors.js';
import { planStatsWindow, STATS_LIMITS } from '../../server/domain/statsWindow.js';

const since = new Date('2026-01-01T00:00:00Z');
const nowMs = Date.parse('2026-01-01T01:00:00Z');

describe('planStatsWindow', () => {
  it('counts buckets up to `until` (default now), the last one partial', () => {
    expect(planStatsWindow({ since, bucketSeconds: 60, nowMs })).toEqual({ sinceMs: since.getTime(), untilMs: nowMs, bucketSeconds: 60, bucketCount: 60 });
    expect(planStatsWindow({ since, until: new Date(since.getTime() + 61_000), bucketSeconds: 60, nowMs })).toMatchObject({ bucketCount: 2 });
    expect(planStatsWindow({ since, until: new Date(since.getTime() + 1), bucketSeconds: 10, nowMs })).toMatchObject({ bucketCount: 1 });
  });

  it('accepts the limits exactly', () => {
    expect(planStatsWindow({ since, bucketSeconds: STATS_LIMITS.minBucketSeconds, until: new Date(since.getTime() + 20_000_000), nowMs })).toMatchObject({ bucketCount: 2000 });
    expect(planStatsWindow({ since, bucketSeconds: STATS_LIMITS.maxBucketSeconds, nowMs })).toMatchObject({ bucketCount: 1 });
  });

  it.each([
    [{ bucketSeconds: 9 }, 'bucketSeconds'],
    [{ bucketSeconds: 86_401 }, 'bucketSeconds'],
    [{ bucketSeconds: 60.5 }, 'bucketSeconds'],
    [{ bucketSeconds: 60, until: since }, 'since'],
    [{ bucketSeconds: 60, until: new Date(since.getTime() - 1) }, 'since'],
    [{ bucketSeconds: 10, until: new Date(since.getTime() + 20_000_001) }, 'bucketSeconds'],
  ])('refuses %o with BAD_USER_INPUT on %s', (args, field) => {
    const result = planStatsWindow({ since, nowMs, ...args });
    expect(result).toBeInstanceOf(DomainError);
    expect(result).toMatchObject({ code: 'BAD_USER_INPUT', field });
  });

  it('says which bucket size would fit', () => {
    const result = planStatsWindow({ since, until: new Date(since.getTime() + 86_400_000), bucketSeconds: 10, nowMs }) as DomainError;
    expect(result.message).toMatch(/8640 buckets of 10 s; the limit is 2000. Use "bucketSeconds" of at least 44/);
  });
});
