import { slotOf } from '../domain/endpointSlots.js';

/**
 * Every pg-boss queue the service uses, in one place.
 *
 * Deliveries live in a fixed set of SHARD_COUNT queues (`deliveries_s00` … `deliveries_s15`), each
 * one partition of `pgboss.job`. An endpoint's jobs go to the shard of its ownership slot, and
 * each job carries its endpoint (`data.p`), served by the index `job_endpoint_due_idx`
 * (name, endpoint, start_after, id) on waiting jobs. The number of queues, partitions, prepared
 * statements and locks is the same for 10 endpoints and for 100,000: one queue per endpoint made
 * every endpoint a partition, and at about 2,000 of them pg-boss's maintenance (which touches
 * every partition in one statement) ran Postgres out of lock memory.
 *
 * The worker still takes from each endpoint only what that endpoint may take now (free
 * `maxInFlight` slots, rate limit, nothing while its breaker is open): a lease names the endpoints
 * it serves and takes at most their allowance from each, along the index, so a backlog on one
 * endpoint is never read to reach another.
 */
export const SHARD_COUNT = 16;

const SHARD_PREFIX = 'deliveries_s';

/** Queue name of shard `shard` (0 … SHARD_COUNT-1). */
export function shardQueueName(shard: number): string {
  return SHARD_PREFIX + String(shard).padStart(2, '0');
}

/** Every shard queue name, in shard order. */
export const SHARD_QUEUE_NAMES: readonly string[] = Array.from({ length: SHARD_COUNT }, (_, i) => shardQueueName(i));

/** The shard of an endpoint: its ownership slot folded onto the shards, so a slot never spans two. */
export function shardOf(endpointId: string): number {
  return slotOf(endpointId) % SHARD_COUNT;
}

/** Queue name of an endpoint's deliveries. */
export function deliveryQueueOf(endpointId: string): string {
  return shardQueueName(shardOf(endpointId));
}

/** Per-endpoint queues of the first version (`deliver_<endpointId>`), migrated away at start. */
export const LEGACY_QUEUE_PREFIX = 'deliver_';

/**
 * Options of every delivery queue. The retry schedule of deliveries is ours (domain/retrySchedule):
 * every attempt ends with the job deleted and, if another attempt is due, a new job with
 * `start_after`. pg-boss's own retry is used only as the lease: a job left `active` by a worker
 * that died is expired after `expireInSeconds` and becomes fetchable again, hence the high
 * retryLimit and zero retryDelay. Retention is long because pg-boss archives (deletes) waiting
 * jobs older than it: a delivery held back (paused endpoint, downgraded organization) must keep
 * its job for as long as the delivery itself is kept.
 */
export const DELIVERY_QUEUE_OPTIONS = {
  policy: 'standard',
  retryLimit: 1_000_000,
  retryDelay: 0,
  retryBackoff: false,
  expireInSeconds: 300,
  retentionMinutes: 60 * 24 * 400,
} as const;

/** What a delivery job carries: only ids; the worker loads the rest in batches. */
export interface DeliveryJobData {
  /** delivery id */
  d: string;
  /** event id */
  e: string;
  /** endpoint id (the shard holds many endpoints; `job_endpoint_due_idx` serves it) */
  p: string;
  /** 1 when an operator asked for this attempt (retryDelivery / replayDeliveries). */
  m?: 1;
  /** 1 when a failure should not schedule further attempts (manual retry of a dead delivery). */
  s?: 1;
  /**
   * Attempts the delivery had when this job was written (absent on manual ones). A job whose
   * number no longer matches the delivery is a leftover whose attempt is already recorded (see
   * the worker: finished jobs are deleted after their attempt commits).
   */
  a?: number;
}

/** Options of the maintenance queues: one run at a time, a failed run retried a few times. */
export const MAINTENANCE_QUEUE_OPTIONS = { policy: 'singleton', retryLimit: 3 } as const;

/**
 * Scheduled maintenance queues, driven by pg-boss cron. They are created with the shard queues
 * (deliveryJobs.ensureQueues), under the same lock: two processes creating queues at once
 * deadlock inside pg-boss's create_queue (each new queue is a partition of its job table).
 */
export const MAINTENANCE_QUEUES = {
  purgePayloads: { name: 'maintenance_purge_payloads', cron: '*/15 * * * *' },
  /** Day partitions ahead, retention by dropping partitions, the pending horizon (engine/history.ts). */
  history: { name: 'maintenance_history', cron: '7 * * * *' },
} as const;
