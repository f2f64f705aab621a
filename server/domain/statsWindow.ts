import { badInput, type DomainError } from './errors.js';

/** Limits of deliveryStats: enough for a 2,000-point chart, at most one day per bucket. */
export const STATS_LIMITS = { minBucketSeconds: 10, maxBucketSeconds: 86_400, maxBuckets: 2_000 } as const;

export interface StatsWindow {
  sinceMs: number;
  untilMs: number;
  bucketSeconds: number;
  /** Bucket i covers [sinceMs + i × bucketSeconds, min(that + bucketSeconds, untilMs)). */
  bucketCount: number;
}

/** Validates deliveryStats arguments (`until` defaults to `nowMs`) into a window of buckets. */
export function planStatsWindow(args: { since: Date; until?: Date | null; bucketSeconds: number; nowMs: number }): StatsWindow | DomainError {
  const { bucketSeconds } = args;
  const { minBucketSeconds, maxBucketSeconds, maxBuckets } = STATS_LIMITS;
  if (!Number.isInteger(bucketSeconds) || bucketSeconds < minBucketSeconds || bucketSeconds > maxBucketSeconds) {
    return badInput(`"bucketSeconds" must be a whole number from ${minBucketSeconds} to ${maxBucketSeconds} (got ${bucketSeconds}).`, 'bucketSeconds');
  }
  const sinceMs = args.since.getTime();
  const untilMs = args.until ? args.until.getTime() : args.nowMs;
  if (!(sinceMs < untilMs)) {
    return badInput(
      args.until ? '"since" must be before "until".' : '"since" must be in the past (or give an "until" after it).',
      'since',
    );
  }
  const bucketCount = Math.ceil((untilMs - sinceMs) / (bucketSeconds * 1000));
  if (bucketCount > maxBuckets) {
    const smallest = Math.ceil((untilMs - sinceMs) / 1000 / maxBuckets);
    return badInput(
      `That window holds ${bucketCount} buckets of ${bucketSeconds} s; the limit is ${maxBuckets}. Use "bucketSeconds" of at least ${smallest}, or a shorter window.`,
      'bucketSeconds',
    );
  }
  return { sinceMs, untilMs, bucketSeconds, bucketCount };
}
