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

/**
 * A lag reading is reused at least this long, and longer when it was expensive (it costs one index
 * probe per endpoint with waiting jobs): 50 × its duration, so scrapes never keep Postgres busy.
 */
const CACHE_MS = 5_000;
const CACHE_FACTOR = 50;
const CACHE_MAX_MS = 60_000;

/**
 * The delivery lag, read from the shard queues when /metrics is scraped (see DeliveryJobs.lag:
 * held work, such as a paused endpoint's backlog, is not lag), cached (see CACHE_MS) and shared
 * by concurrent scrapes.
 */
export function createDeliveryLagSource(jobs: Pick<DeliveryJobs, 'lag'>): () => Promise<DeliveryLag> {
  let cached: { untilMs: number; value: Promise<DeliveryLag> } | null = null;
  return () => {
    const startedMs = Date.now();
    if (!cached || startedMs > cached.untilMs) {
      const entry = {
        untilMs: Number.POSITIVE_INFINITY, // shared while running
        value: jobs.lag().then((l) => ({ oldestDueSeconds: l.oldestDueSeconds, byKind: l.byKind as DeliveryLag['byKind'] })),
      };
      cached = entry;
      entry.value.then(
        () => {
          const tookMs = Date.now() - startedMs;
          entry.untilMs = Date.now() + Math.min(CACHE_MAX_MS, Math.max(CACHE_MS, tookMs * CACHE_FACTOR));
        },
        () => {
          if (cached === entry) cached = null;
        },
      );
    }
    return cached.value;
  };
}
