import type { JobQueue } from './jobQueue.js';

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
 * The delivery lag, read from the queue when /metrics is scraped (at most every 5 s per process).
 * Today the oldest due, unleased job of any delivery queue; the queue rewrite (shard queues) swaps
 * this query and adds the split by kind.
 */
export function createDeliveryLagSource(jobQueue: JobQueue): () => Promise<DeliveryLag> {
  return async () => ({ oldestDueSeconds: (await jobQueue.depth()).oldestDueAgeSeconds });
}
