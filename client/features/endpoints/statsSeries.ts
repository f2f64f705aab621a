/** deliveryStats buckets → chart series and totals, and the window a chart shows. Pure (unit-tested). */
import { bucketFor, resolveRange, type RangeKey } from '../../shared/timeRange.js';

export interface Bucket {
  start: string;
  succeeded: number;
  failed: number;
  total: number;
  p50: number | null;
  p95: number | null;
  p99?: number | null;
  failuresByErrorClass?: { errorClass: string; count: number }[];
}

/** Error classes in the API's order (ErrorClass), so colours and legend order stay put. */
export const ERROR_CLASSES = ['HTTP_STATUS', 'TIMEOUT', 'CONNECTION', 'TLS', 'DNS', 'BLOCKED_ADDRESS'] as const;

export interface ChartWindow {
  sinceMs: number;
  untilMs: number;
  bucketSeconds: number;
  /** The range started before the endpoint existed: the chart starts at its creation instead. */
  sinceCreation: boolean;
}

/**
 * The window and bucket size for a range: a preset ends now; custom bounds are the user's. A
 * window starting before the endpoint was created starts at its creation instead, so a new
 * endpoint's "last 7 days" is a chart of its few minutes, not one dot at the right edge.
 * Buckets are round sizes (about 60 per window) and the window starts on a bucket boundary.
 */
export function chartWindow(
  range: RangeKey,
  custom: { since?: string | null; until?: string | null },
  createdAtMs: number,
  nowMs: number,
): ChartWindow | { error: string } {
  const resolved = resolveRange(range, custom, nowMs);
  if (!resolved.ok) return { error: resolved.message };
  const untilMs = Math.min(resolved.untilMs ?? nowMs, nowMs);
  let sinceMs = resolved.sinceMs ?? untilMs - 86_400_000;
  const sinceCreation = createdAtMs > sinceMs;
  if (sinceCreation) sinceMs = Math.min(createdAtMs, untilMs - 60_000);
  if (sinceMs >= untilMs) return { error: 'That period is in the future; pick one that has started.' };
  const bucketSeconds = bucketFor(untilMs - sinceMs, 60);
  const bucketMs = bucketSeconds * 1000;
  return { sinceMs: Math.floor(sinceMs / bucketMs) * bucketMs, untilMs, bucketSeconds, sinceCreation };
}

export function statsSeries(buckets: readonly Bucket[]) {
  const sorted = [...buckets].sort((a, b) => Date.parse(a.start) - Date.parse(b.start));
  const total = sorted.reduce((n, b) => n + b.total, 0);
  const succeeded = sorted.reduce((n, b) => n + b.succeeded, 0);
  const failed = sorted.reduce((n, b) => n + b.failed, 0);
  const classes = ERROR_CLASSES.map((errorClass) => ({
    errorClass,
    values: sorted.map((b) => b.failuresByErrorClass?.find((f) => f.errorClass === errorClass)?.count ?? 0),
  }));
  const p95s = sorted.map((b) => (b.total ? b.p95 : null)).filter((v): v is number => v != null);
  return {
    times: sorted.map((b) => Date.parse(b.start)),
    succeeded: sorted.map((b) => b.succeeded),
    failed: sorted.map((b) => b.failed),
    successRate: sorted.map((b) => (b.total ? (b.succeeded / b.total) * 100 : null)),
    p50: sorted.map((b) => (b.total ? b.p50 : null)),
    p95: sorted.map((b) => (b.total ? b.p95 : null)),
    p99: sorted.map((b) => (b.total ? (b.p99 ?? null) : null)),
    /** Only the classes that occurred in the window. */
    errorClasses: classes.filter((c) => c.values.some((v) => v > 0)),
    totals: { total, succeeded, failed, rate: total ? succeeded / total : null, worstP95: p95s.length ? Math.max(...p95s) : null },
  };
}
