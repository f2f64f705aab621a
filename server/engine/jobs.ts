/**
 * Every pg-boss queue the service uses, in one place.
 *
 * Deliveries use one queue per endpoint (`deliver_<endpointId>`; pg-boss 10 gives each queue its
 * own partition). The worker then fetches from an endpoint only as much as that endpoint may take
 * (free `maxInFlight` slots, rate-limit tokens, not while its breaker is open), so a slow or dead
 * endpoint never holds jobs that healthy endpoints are waiting behind, and per-endpoint publish
 * order is the queue order.
 */
export const DELIVERY_QUEUE_PREFIX = 'deliver_';

/** Queue name of an endpoint's deliveries. */
export function deliveryQueueName(endpointId: string): string {
  return DELIVERY_QUEUE_PREFIX + endpointId;
}

/** Endpoint id of a delivery queue name. */
export function endpointIdOfQueue(queueName: string): string {
  return queueName.slice(DELIVERY_QUEUE_PREFIX.length);
}

/**
 * Options of every delivery queue. The retry schedule of deliveries is ours (domain/retrySchedule):
 * every attempt ends with the job deleted and, if another attempt is due, a new job with
 * `start_after`. pg-boss's own retry is used only as the lease: a job left `active` by a worker
 * that died is expired after `expireInSeconds` and becomes fetchable again, hence the high
 * retryLimit and zero retryDelay.
 */
export const DELIVERY_QUEUE_OPTIONS = {
  policy: 'standard',
  retryLimit: 1_000_000,
  retryDelay: 0,
  retryBackoff: false,
  expireInSeconds: 300,
  retentionMinutes: 60 * 24 * 14,
} as const;

/** What a delivery job carries: only ids; the worker loads the rest in batches. */
export interface DeliveryJobData {
  /** delivery id */
  d: string;
  /** event id */
  e: string;
  /** 1 when an operator asked for this attempt (retryDelivery / replayDeliveries). */
  m?: 1;
  /** 1 when a failure should not schedule further attempts (manual retry of a dead delivery). */
  s?: 1;
  /**
   * Attempts the delivery had when this job was written (absent on jobs of older versions and on
   * manual ones). A job whose number no longer matches the delivery is a leftover whose attempt
   * is already recorded (see Worker: finished jobs are deleted after their attempt commits).
   */
  a?: number;
}

/** Scheduled maintenance queues (created at start, driven by pg-boss cron). */
export const MAINTENANCE_QUEUES = {
  purgePayloads: { name: 'maintenance_purge_payloads', cron: '*/15 * * * *' },
  /** Day partitions ahead, retention by dropping partitions, the pending horizon (engine/history.ts). */
  history: { name: 'maintenance_history', cron: '7 * * * *' },
} as const;
