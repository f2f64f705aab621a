import type { Sql, TransactionSql } from 'postgres';
import type { Logger } from '../logger.js';
import { insertAttempts, updateDeliveries, type AttemptRecord, type DeliveryUpdate } from '../db/repos/attempts.js';
import { CHANNELS, notifyIds, notifyJson, type AttemptSummary, type EndpointHealthChange } from '../db/notifications.js';
import type { BreakerState } from '../domain/circuitBreaker.js';
import type { EnqueueJob, JobQueue } from './jobQueue.js';

/** A job to take off the queue once its outcome is recorded. */
export interface JobRef {
  endpointId: string;
  jobId: string;
}

/** Everything one dispatched job asks the database to record. */
export interface RecordEntry {
  attempt?: AttemptRecord;
  delivery?: DeliveryUpdate;
  summary?: AttemptSummary;
  /** The job is finished (attempt recorded, delivery skipped or parked). */
  removeJob?: JobRef;
  /** Put the job back, untouched, to be fetched after `startAfter` (breaker open, not sent). */
  requeueJob?: JobRef & { startAfter: Date };
  /** Schedule the delivery's next attempt. */
  enqueue?: EnqueueJob;
  /** STRICT ordering: park this delivery behind an earlier one with its orderingKey. */
  park?: { deliveryId: string };
  /** STRICT ordering: the head of this (endpoint, orderingKey) may have changed. */
  strictKey?: { endpointId: string; orderingKey: string };
}

export interface EndpointStateChange {
  endpointId: string;
  breaker: BreakerState;
  disable?: { reason: string };
}

/**
 * Group commit for the worker: entries accumulate while a transaction is in flight, and the next
 * transaction records all of them at once (attempts, delivery rows, queue jobs, STRICT hand-offs,
 * breaker state, then NOTIFY for live streams). One transaction per batch keeps "attempt
 * recorded" and "job finished or rescheduled" atomic without paying a commit per delivery.
 */
export function createRecorder(deps: {
  sql: Sql;
  jobQueue: JobQueue;
  log: Logger;
  /** Called after commit with what was recorded (metrics, system events). */
  onCommitted?: (batch: { entries: RecordEntry[]; endpointChanges: EndpointStateChange[] }) => void;
}) {
  const { sql, jobQueue, log } = deps;
  let entries: RecordEntry[] = [];
  let endpointChanges = new Map<string, EndpointStateChange>();
  let healthChanges: EndpointHealthChange[] = [];
  let flushing: Promise<void> | null = null;
  let failures = 0;

  async function write(
    tx: TransactionSql,
    batch: RecordEntry[],
    changes: EndpointStateChange[],
    health: EndpointHealthChange[],
  ): Promise<void> {
    await insertAttempts(tx, batch.flatMap((e) => (e.attempt ? [e.attempt] : [])));
    await updateDeliveries(tx, batch.flatMap((e) => (e.delivery ? [e.delivery] : [])));
    const parks = batch.flatMap((e) => (e.park ? [e.park.deliveryId] : []));
    if (parks.length) await tx`UPDATE deliveries SET parked = true WHERE id = ANY(${parks}::text[]) AND status = 'PENDING'`;
    await jobQueue.removeMany(tx, batch.flatMap((e) => (e.removeJob ? [e.removeJob] : [])));
    const requeues = batch.flatMap((e) => (e.requeueJob ? [e.requeueJob] : []));
    if (requeues.length) await jobQueue.requeue(tx, requeues);
    const enqueue = batch.flatMap((e) => (e.enqueue ? [e.enqueue] : []));
    enqueue.push(...(await unparkHeads(tx, batch)));
    await jobQueue.enqueue(tx, enqueue);

    for (const change of changes) {
      const b = change.breaker;
      const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
      await tx`
        UPDATE endpoints SET circuit_state = ${b.state}, consecutive_failures = ${b.consecutiveFailures},
          circuit_opened_at = ${iso(b.openedAtMs)}, circuit_open_until = ${iso(b.openUntilMs)},
          circuit_cooldown_seconds = ${b.currentCooldownSeconds}
          ${change.disable ? tx`, active = false, disabled_reason = ${change.disable.reason}, disabled_at = now()` : tx``}
        WHERE id = ${change.endpointId} AND deleted_at IS NULL`;
    }

    const due = enqueue.filter((j) => !j.startAfter || j.startAfter.getTime() <= Date.now());
    if (due.length) await notifyIds(tx, CHANNELS.wake, new Set(due.map((j) => j.endpointId)));
    const summaries = batch.flatMap((e) => (e.summary ? [e.summary] : []));
    if (summaries.length) {
      const recordedAtMs = Date.now();
      await notifyJson(tx, CHANNELS.attempts, summaries.map((s) => ({ ...s, recordedAtMs })));
    }
    if (health.length) await notifyJson(tx, CHANNELS.endpointHealth, health);
  }

  /**
   * STRICT hand-off: for every (endpoint, orderingKey) touched in this batch, if the earliest
   * pending delivery is parked, unpark it and enqueue it. Running after this batch's parks and
   * completions (and batches of one endpoint never overlap, since one worker owns it) means a
   * park and the completion it waited for can never miss each other.
   */
  async function unparkHeads(tx: TransactionSql, batch: RecordEntry[]): Promise<EnqueueJob[]> {
    const touched = new Map<string, { endpointId: string; orderingKey: string }>();
    for (const e of batch) if (e.strictKey) touched.set(`${e.strictKey.endpointId}\u0000${e.strictKey.orderingKey}`, e.strictKey);
    if (touched.size === 0) return [];
    const keys = [...touched.values()];
    const rows = await tx<{ id: string; endpoint_id: string; event_id: string }[]>`
      WITH touched AS (
        SELECT * FROM unnest(${keys.map((k) => k.endpointId)}::text[], ${keys.map((k) => k.orderingKey)}::text[]) AS t(ep, k)
      ), heads AS (
        SELECT h.* FROM touched t CROSS JOIN LATERAL (
          SELECT d.id, d.parked FROM deliveries d
          WHERE d.endpoint_id = t.ep AND d.ordering_key = t.k AND d.status = 'PENDING'
          ORDER BY d.seq LIMIT 1
        ) h
      )
      UPDATE deliveries d SET parked = false, next_attempt_at = now()
      FROM heads WHERE d.id = heads.id AND heads.parked
      RETURNING d.id, d.endpoint_id, d.event_id`;
    return rows.map((r) => ({ endpointId: r.endpoint_id, deliveryId: r.id, eventId: r.event_id }));
  }

  async function flushLoop(): Promise<void> {
    while (entries.length > 0 || endpointChanges.size > 0 || healthChanges.length > 0) {
      const batch = entries;
      const changes = [...endpointChanges.values()];
      const health = healthChanges;
      entries = [];
      endpointChanges = new Map();
      healthChanges = [];
      try {
        await sql.begin((tx) => write(tx, batch, changes, health));
        failures = 0;
        deps.onCommitted?.({ entries: batch, endpointChanges: changes });
      } catch (err) {
        // Keep the batch: the jobs stay leased, so nothing is lost if this process dies now, and
        // the next try records them. Later entries are appended behind them.
        failures++;
        entries = batch.concat(entries);
        for (const c of changes) if (!endpointChanges.has(c.endpointId)) endpointChanges.set(c.endpointId, c);
        healthChanges = health.concat(healthChanges);
        log.warn({ err: (err as Error).message, entries: batch.length, failures }, 'recording attempts failed; retrying');
        await new Promise((r) => setTimeout(r, Math.min(5000, 100 * 2 ** Math.min(failures, 6))));
      }
    }
  }

  function kick(): void {
    if (flushing) return;
    flushing = flushLoop().finally(() => {
      flushing = null;
      if (entries.length > 0 || endpointChanges.size > 0 || healthChanges.length > 0) kick();
    });
  }

  return {
    add(entry: RecordEntry): void {
      entries.push(entry);
      kick();
    },
    /** Latest breaker state (and optional disable) of an endpoint, written with the next batch. */
    setEndpointState(change: EndpointStateChange, health?: EndpointHealthChange): void {
      const previous = endpointChanges.get(change.endpointId);
      endpointChanges.set(change.endpointId, { ...change, disable: change.disable ?? previous?.disable });
      if (health) healthChanges.push(health);
      kick();
    },
    /** Entries not yet committed (backpressure for the fetch loop). */
    backlog: () => entries.length,
    /** Resolves once everything added so far is committed. */
    async drain(): Promise<void> {
      while (flushing || entries.length > 0 || endpointChanges.size > 0) {
        kick();
        await flushing;
      }
    },
  };
}
export type Recorder = ReturnType<typeof createRecorder>;
