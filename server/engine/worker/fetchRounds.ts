import type { Sql } from 'postgres';
import type { Logger } from '../../logger.js';
import type { DeliveryJobs, FetchedJob, LeaseResult } from '../../db/repos/deliveryJobs.js';
import type { LoadedDelivery, WorkerReads } from '../../db/repos/workerReads.js';
import { unused } from '../../domain/sendWindow.js';
import type { Recorder } from '../recorder.js';
import type { Allowance } from './admission.js';
import type { EndpointState } from './endpointStates.js';
import type { FinishedJobs } from './finishedJobs.js';
import type { DueTimers } from './dueTimers.js';
import { floorAfterLease, floorOfLease, floorOfWake } from './pickFloor.js';

export interface FetchRoundsDeps {
  sql: Sql;
  /** Where the lease statements run (Database.leaseSql). */
  leaseSql: Sql;
  jobs: DeliveryJobs;
  reads: WorkerReads;
  allowance: Allowance;
  finished: FinishedJobs;
  timers: DueTimers;
  recorder: Recorder;
  log: Logger;
  stopped(): boolean;
  /** Leased jobs with their deliveries (null: the delivery row is gone), oldest first per endpoint. */
  onLeased(leased: { s: EndpointState; job: FetchedJob; delivery: LoadedDelivery | null }[]): void;
  /** A round ended (leases answered): waiters for idleness may look again. */
  onRoundEnd(): void;
}

interface Reserved {
  s: EndpointState;
  limit: number;
  /** Where the lease starts walking the endpoint's due jobs (null: the start). */
  startMs: number | null;
}

/** A failed lease or load is tried again after this long. */
const RETRY_AFTER_FAILURE_MS = 1000;

/**
 * Lease rounds. Endpoints that may have due jobs ask for a lease (`request`); those asking in the
 * same tick form a round: per shard one statement leasing each endpoint's allowance (and deleting
 * the shard's finished jobs), pipelined on the pool, then one query loading the deliveries and
 * payloads of everything leased. A round costs the same number of statements whether it serves
 * one endpoint with a backlog or a thousand endpoints with one job each.
 */
export function createFetchRounds(deps: FetchRoundsDeps) {
  const { jobs, log } = deps;
  const pending = new Set<EndpointState>();
  const leasing = new Map<number, number>();
  let scheduled = false;

  function request(s: EndpointState): void {
    if (s.fetching || s.exhausted || s.retired || deps.stopped()) return;
    pending.add(s);
    if (!scheduled) {
      scheduled = true;
      setImmediate(run);
    }
  }

  /**
   * Something may be due for `s` now (a notification, a timer, a settings change), from `dueMs`
   * on (null: the waker does not know; see pickFloor.ts).
   */
  function wake(s: EndpointState, dueMs: number | null): void {
    s.floor = floorOfWake(s.floor, dueMs);
    s.exhausted = false;
    if (s.fetching) s.rewoken = true;
    request(s);
  }

  function run(): void {
    scheduled = false;
    const nowMs = Date.now();
    const byShard = new Map<number, Reserved[]>();
    for (const s of pending) {
      pending.delete(s);
      const admission = deps.allowance(s, nowMs);
      s.deferred = 'deferred' in admission && admission.deferred === true;
      if (admission.take <= 0) {
        if ('retryAtMs' in admission) deps.timers.arm(s.id, admission.retryAtMs);
        if ('sleep' in admission && s.inFlight === 0) s.exhausted = true;
        continue;
      }
      s.fetching = true;
      s.inFlight += admission.take; // reserved until the lease answers
      const start = floorOfLease(s.floor, nowMs);
      s.floor = start.floor;
      const reservedOne = { s, limit: admission.take, startMs: start.startMs };
      const list = byShard.get(s.shard);
      if (list) list.push(reservedOne);
      else byShard.set(s.shard, [reservedOne]);
    }
    if (byShard.size) void leaseAndLoad(byShard);
  }

  async function leaseShard(shard: number, reserved: Reserved[]): Promise<LeaseResult> {
    const done = deps.finished.take(shard);
    leasing.set(shard, (leasing.get(shard) ?? 0) + 1);
    try {
      return await jobs.lease(
        deps.leaseSql,
        shard,
        reserved.map((r) => ({ endpointId: r.s.id, limit: r.limit, startMs: r.startMs })),
        done,
      );
    } catch (err) {
      deps.finished.add(shard, done);
      throw err;
    } finally {
      const n = (leasing.get(shard) ?? 1) - 1;
      if (n > 0) leasing.set(shard, n);
      else leasing.delete(shard);
    }
  }

  async function leaseAndLoad(byShard: Map<number, Reserved[]>): Promise<void> {
    const shards = [...byShard];
    const results = await Promise.allSettled(shards.map(([shard, reserved]) => leaseShard(shard, reserved)));
    const leased: FetchedJob[] = [];
    const owner = new Map<string, EndpointState>();
    results.forEach((result, i) => {
      const reserved = shards[i]![1];
      if (result.status === 'rejected') {
        log.warn({ err: (result.reason as Error).message, shard: shards[i]![0], endpoints: reserved.length }, 'lease failed; retrying soon');
        for (const r of reserved) settle(r, 0, undefined, undefined, true);
        return;
      }
      const got = new Map<EndpointState, number>();
      const byEndpoint = new Map(reserved.map((r) => [r.s.id, r]));
      for (const job of result.value.jobs) {
        const r = byEndpoint.get(job.endpointId);
        if (!r) continue;
        got.set(r.s, (got.get(r.s) ?? 0) + 1);
        owner.set(job.id, r.s);
        leased.push(job);
      }
      for (const r of reserved) settle(r, got.get(r.s) ?? 0, result.value.nextDueMs.get(r.s.id), result.value.lastDueMs.get(r.s.id), false);
    });
    if (leased.length === 0) {
      deps.onRoundEnd();
      return;
    }
    let loaded: Map<string, LoadedDelivery>;
    try {
      loaded = await deps.reads.loadDeliveries(leased);
    } catch (err) {
      // Leased but not loaded: hand the jobs back rather than wait for their lease to expire.
      log.warn({ err: (err as Error).message, jobs: leased.length }, 'loading leased deliveries failed; handing them back');
      const backAt = new Date(Date.now() + RETRY_AFTER_FAILURE_MS);
      for (const job of leased) {
        const s = owner.get(job.id)!;
        s.inFlight--;
        if (s.window) unused(s.window, 1);
        deps.recorder.add({ requeueJob: { shard: job.shard, jobId: job.id, startAfter: backAt } });
        deps.timers.arm(s.id, backAt.getTime());
      }
      deps.onRoundEnd();
      return;
    }
    deps.onLeased(leased.map((job) => ({ s: owner.get(job.id)!, job, delivery: loaded.get(job.deliveryId) ?? null })));
    deps.onRoundEnd();
  }

  /** Ends `r`'s lease: gives back unused reservations, sleeps the endpoint when nothing more is due. */
  function settle(r: Reserved, got: number, nextDueMs: number | undefined, lastDueMs: number | undefined, failed: boolean): void {
    const s = r.s;
    s.inFlight -= r.limit - got;
    if (s.window) unused(s.window, r.limit - got);
    s.fetching = false;
    if (!failed) s.floor = floorAfterLease(s.floor, lastDueMs ?? null);
    if (failed) {
      deps.timers.arm(s.id, Date.now() + RETRY_AFTER_FAILURE_MS);
      s.exhausted = true;
    } else if (got < r.limit && !s.rewoken) {
      // Nothing more is due now: sleep until a notification or the next due job's time.
      s.exhausted = true;
    }
    if (nextDueMs !== undefined) deps.timers.arm(s.id, nextDueMs);
    s.rewoken = false;
    s.touchedMs = Date.now();
    request(s);
  }

  return {
    request,
    wake,
    /** True while a lease of `shard` is running (its finished jobs go with it). */
    leasing: (shard: number) => leasing.has(shard),
  };
}
export type FetchRounds = ReturnType<typeof createFetchRounds>;
