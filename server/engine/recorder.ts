import type { Sql, TransactionSql } from 'postgres';
import type { Logger } from '../logger.js';
import {
  attemptsJson,
  deliveryUpdatesJson,
  sortedIds,
  insertAttemptsSql,
  updateDeliveriesSql,
  type AttemptRecord,
  type DeliveryUpdate,
} from '../db/repos/attempts.js';
import { CHANNELS, idPayloads, jsonPayloads, notifyWakeFromNow, wakeStampSql, type AttemptSummary, type EndpointHealthChange } from '../db/notifications.js';
import type { BreakerState } from '../domain/circuitBreaker.js';
import type { DeliveryJobs, EnqueueJob, FinishedJob } from '../db/repos/deliveryJobs.js';
import type { PendingHorizon } from './pendingHorizon.js';
import { unparkHeadsQuery } from '../db/repos/strictOrdering.js';

/**
 * Entries per recording statement. After a stall (an fsync of several hundred ms) thousands of
 * entries wait (up to the admission's recorder backlog plus what is in flight); recorded at once
 * they were one statement with megabytes of JSON parameters, held as strings and again as the
 * message being written, on top of the entries themselves: the worker's peak memory. Past this
 * many, a batch goes in several statements, one after the other, oldest entries first.
 */
export const MAX_BATCH_ENTRIES = 2_500;

/** A leased job by its id (handed back with requeueJob). */
export interface JobRef {
  shard: number;
  jobId: string;
}

/** Everything one dispatched job asks the database to record. */
export interface RecordEntry {
  attempt?: AttemptRecord;
  delivery?: DeliveryUpdate;
  summary?: AttemptSummary;
  /**
   * The job is finished (attempt recorded, delivery skipped or parked). It is deleted after this
   * entry commits, by the worker (see afterCommit), not in the recording transaction.
   */
  removeJob?: FinishedJob & { shard: number };
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
 * transaction records them at once, up to MAX_BATCH_ENTRIES (attempts, delivery rows, queue jobs,
 * STRICT hand-offs, breaker state, then NOTIFY for live streams). One transaction per batch keeps "attempt
 * recorded" and "job finished or rescheduled" atomic without paying a commit per delivery.
 *
 * A batch is one statement in the common case (no transaction needed around it): the attempts,
 * delivery updates, retry jobs and notifications, with JSON documents as parameters. Finished jobs are not deleted here: one
 * DELETE per shard (each job table partition needs its own statement) would cost more than the
 * rest of the batch; the worker deletes them with its next lease of the shard, once this
 * transaction has committed (see afterCommit). Rare work (breaker changes, requeues, STRICT
 * parking) adds statements only when present. Lock order is the same as every other writer's,
 * so concurrent endpoint deletion cannot deadlock with it: endpoint rows, then delivery rows by
 * id, then jobs.
 *
 * `sql` is the worker pool (synchronous_commit off): see Database.workerSql for why a lost
 * commit only ever means a duplicate delivery.
 */
export function createRecorder(deps: {
  sql: Sql;
  jobs: DeliveryJobs;
  log: Logger;
  /** Where pending deliveries start (history partitions): the STRICT hand-off reads from there on. */
  pendingHorizon: PendingHorizon;
}) {
  const { sql, jobs, log } = deps;
  const committedListeners: ((entries: RecordEntry[]) => void)[] = [];
  let entries: RecordEntry[] = [];
  let endpointChanges = new Map<string, EndpointStateChange>();
  let healthChanges: EndpointHealthChange[] = [];
  let flushing: Promise<void> | null = null;
  let failures = 0;

  // A retry job is written only for a delivery this statement moved on: one cancelled meanwhile
  // (its endpoint deleted) gets no job that nobody would ever take.
  const recordSql = `
    WITH recorded_attempts AS (${insertAttemptsSql('$1')}),
         updated_deliveries AS (${updateDeliveriesSql('$2', '$5')} RETURNING d.id),
         retry_jobs AS (${jobs.insertJobsSql(
           `(SELECT y.* FROM jsonb_to_recordset($3::text::jsonb) AS y(id uuid, name text, data jsonb, at timestamptz)
             WHERE y.data->>'d' IN (SELECT id FROM updated_deliveries)) AS x`,
         )})
    SELECT count(pg_notify(n.channel, CASE WHEN n.channel = '${CHANNELS.wake}'
        THEN ${wakeStampSql('least(now(), coalesce($6::timestamptz, now()))')} || n.payload ELSE n.payload END))
    FROM jsonb_to_recordset($4::text::jsonb) AS n(channel text, payload text)`;

  /** True when the batch needs more than the main statement (and so a transaction around it). */
  function needsTransaction(batch: RecordEntry[], changes: EndpointStateChange[]): boolean {
    return changes.length > 0 || batch.some((e) => e.park || e.requeueJob || e.strictKey);
  }

  async function write(
    tx: Sql | TransactionSql,
    batch: RecordEntry[],
    changes: EndpointStateChange[],
    health: EndpointHealthChange[],
  ): Promise<void> {
    const attempts: AttemptRecord[] = [];
    const updates: DeliveryUpdate[] = [];
    const parks: string[] = [];
    const requeues: (JobRef & { startAfter: Date })[] = [];
    const enqueue: EnqueueJob[] = [];
    const summaries: AttemptSummary[] = [];
    let strict = false;
    for (const e of batch) {
      if (e.attempt) attempts.push(e.attempt);
      if (e.delivery) updates.push(e.delivery);
      if (e.park) parks.push(e.park.deliveryId);
      if (e.requeueJob) requeues.push(e.requeueJob);
      if (e.enqueue) enqueue.push(e.enqueue);
      if (e.summary) summaries.push(e.summary);
      if (e.strictKey) strict = true;
    }
    const pending: Promise<unknown>[] = [];
    // Endpoint rows first (sorted), as endpoint deletion and updates lock them first too.
    for (const change of [...changes].sort((a, b) => (a.endpointId < b.endpointId ? -1 : 1))) {
      const b = change.breaker;
      const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
      pending.push(tx`
        UPDATE endpoints SET circuit_state = ${b.state}, consecutive_failures = ${b.consecutiveFailures},
          circuit_opened_at = ${iso(b.openedAtMs)}, circuit_open_until = ${iso(b.openUntilMs)},
          circuit_cooldown_seconds = ${b.currentCooldownSeconds}
          ${change.disable ? tx`, active = false, disabled_reason = ${change.disable.reason}, disabled_at = now()` : tx``}
        WHERE id = ${change.endpointId} AND deleted_at IS NULL`);
    }
    if (parks.length) pending.push(tx`UPDATE deliveries SET parked = true WHERE id = ANY(${parks.sort()}::text[]) AND status::text = 'PENDING'`);
    const nowMs = Date.now();
    const notifications: { channel: string; payload: string }[] = [];
    const due = enqueue.filter((j) => !j.startAfter || j.startAfter.getTime() <= nowMs);
    if (due.length && !strict) for (const payload of idPayloads(new Set(due.map((j) => j.endpointId)))) notifications.push({ channel: CHANNELS.wake, payload });
    if (summaries.length) {
      for (const payload of jsonPayloads(summaries.map((s) => ({ ...s, recordedAtMs: nowMs })))) notifications.push({ channel: CHANNELS.attempts, payload });
    }
    if (health.length) for (const payload of jsonPayloads(health)) notifications.push({ channel: CHANNELS.endpointHealth, payload });
    pending.push(
      tx.unsafe(
        recordSql,
        [attemptsJson(attempts), deliveryUpdatesJson(updates), jobs.enqueueJson(enqueue), JSON.stringify(notifications), sortedIds(updates), earliestIso(due)] as never[],
        { prepare: true },
      ),
    );
    if (requeues.length) pending.push(jobs.requeue(tx, requeues));
    await Promise.all(pending);
    if (strict) {
      // After this batch's parks and completions (statements above, same transaction).
      const unparked = await unparkHeads(tx, batch);
      await jobs.enqueue(tx, unparked);
      const wake = [...due, ...unparked];
      if (wake.length) await notifyWakeFromNow(tx, new Set(wake.map((j) => j.endpointId)), earliest(wake));
    }
  }

  /**
   * STRICT hand-off: for every (endpoint, orderingKey) touched in this batch, if the earliest
   * pending delivery is parked, unpark it and enqueue it. Running after this batch's parks and
   * completions (and batches of one endpoint never overlap, since one worker owns it) means a
   * park and the completion it waited for can never miss each other.
   */
  async function unparkHeads(tx: Sql | TransactionSql, batch: RecordEntry[]): Promise<EnqueueJob[]> {
    const touched = new Map<string, { endpointId: string; orderingKey: string }>();
    for (const e of batch) if (e.strictKey) touched.set(`${e.strictKey.endpointId}\u0000${e.strictKey.orderingKey}`, e.strictKey);
    if (touched.size === 0) return [];
    const rows = await unparkHeadsQuery(tx, [...touched.values()], await deps.pendingHorizon.deliveryBound());
    return rows.map((r) => ({ endpointId: r.endpoint_id, deliveryId: r.id, eventId: r.event_id, attemptsMade: r.attempt_count }));
  }

  async function flushLoop(): Promise<void> {
    while (entries.length > 0 || endpointChanges.size > 0 || healthChanges.length > 0) {
      const batch = entries.length > MAX_BATCH_ENTRIES ? entries.splice(0, MAX_BATCH_ENTRIES) : entries;
      if (batch === entries) entries = [];
      const changes = [...endpointChanges.values()];
      const health = healthChanges;
      endpointChanges = new Map();
      healthChanges = [];
      try {
        // The main statement alone is atomic: a transaction (and its two round trips) only
        // when the batch needs more statements.
        if (needsTransaction(batch, changes)) await sql.begin((tx) => write(tx, batch, changes, health));
        else await write(sql, batch, changes, health);
        failures = 0;
        for (const listener of committedListeners) listener(batch);
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
    /** Calls `listener` with every batch of entries once it is committed. */
    afterCommit(listener: (entries: RecordEntry[]) => void): void {
      committedListeners.push(listener);
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

/** The earliest explicit due time among `jobs` (null: all are due at the transaction's start). */
function earliest(jobs: EnqueueJob[]): Date | null {
  let min: Date | null = null;
  for (const j of jobs) if (j.startAfter && (min === null || j.startAfter < min)) min = j.startAfter;
  return min;
}

function earliestIso(jobs: EnqueueJob[]): string | null {
  return earliest(jobs)?.toISOString() ?? null;
}
