/** Turns deliveryStats buckets into chart points and totals. Pure (unit-tested). */

export interface Bucket {
  start: string;
  succeeded: number;
  failed: number;
  total: number;
  p50: number | null;
  p95: number | null;
  p99?: number | null;
}

export interface StatsRange {
  key: string;
  label: string;
  ms: number;
  bucketSeconds: number;
}

/** Ranges offered above the charts, each with a bucket size giving 50–100 points. */
export const STATS_RANGES: StatsRange[] = [
  { key: '1h', label: 'Last hour', ms: 3_600_000, bucketSeconds: 60 },
  { key: '24h', label: 'Last 24 hours', ms: 86_400_000, bucketSeconds: 900 },
  { key: '7d', label: 'Last 7 days', ms: 7 * 86_400_000, bucketSeconds: 10_800 },
];

export function statsSeries(buckets: readonly Bucket[]) {
  const sorted = [...buckets].sort((a, b) => Date.parse(a.start) - Date.parse(b.start));
  const point = (b: Bucket, v: number | null) => ({ t: Date.parse(b.start), v });
  const total = sorted.reduce((n, b) => n + b.total, 0);
  const succeeded = sorted.reduce((n, b) => n + b.succeeded, 0);
  return {
    successRate: sorted.map((b) => point(b, b.total ? (b.succeeded / b.total) * 100 : null)),
    p50: sorted.map((b) => point(b, b.total ? b.p50 : null)),
    p95: sorted.map((b) => point(b, b.total ? b.p95 : null)),
    totals: { total, succeeded, failed: sorted.reduce((n, b) => n + b.failed, 0), rate: total ? succeeded / total : null },
  };
}
