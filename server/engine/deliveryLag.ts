import type { DeliveryJobs } from '../db/repos/deliveryJobs.js';

/**
 * Kinds of delivery job the lag is reported for: a delivery's first attempt (due when published),
 * a scheduled retry (due at its backoff time), an operator's retry or replay.
 */
export const DELIVERY_LAG_KINDS = ['first_attempt', 'retry', 'manual'] as const;
export type DeliveryLagKind = (typeof DELIVERY_LAG_KINDS)[number];

/** How far behind delivery is, whole system. */
export interface DeliveryLag {
  /** Seconds the oldest due, undelivered job has waited past its due time; 0 when none waits. */
  oldestDueSeconds: number;
  /** The same per kind, for the kinds the query tells apart (absent ones are not reported). */
  byKind?: Partial<Record<DeliveryLagKind, number>>;
}

/** A lag reading is reused this long: it costs one index probe per endpoint with waiting jobs. */
const CACHE_MS = 15_000;

/**
 * The delivery lag, read from the shard queues when /metrics is scraped (see DeliveryJobs.lag:
 * held work, such as a paused endpoint's backlog, is not lag), cached for 15 s and shared by
 * concurrent scrapes.
 */
export function createDeliveryLagSource(jobs: Pick<DeliveryJobs, 'lag'>): () => Promise<DeliveryLag> {
  let cached: { atMs: number; value: Promise<DeliveryLag> } | null = null;
  return () => {
    const nowMs = Date.now();
    if (!cached || nowMs - cached.atMs > CACHE_MS) {
      const value = jobs.lag().then((l) => ({ oldestDueSeconds: l.oldestDueSeconds, byKind: l.byKind as DeliveryLag['byKind'] }));
      cached = { atMs: nowMs, value };
      value.catch(() => {
        cached = null;
      });
    }
    return cached.value;
  };
}
