import type { Sql } from 'postgres';
import type { Logger } from '../logger.js';
import { createListener } from '../db/listener.js';
import { CHANNELS, parseJsonPayload, summarizeAttempt, type EndpointChanged, type EndpointHealthChange } from '../db/notifications.js';
import { breakerGate, recordFailure, recordSuccess, type BreakerState } from '../domain/circuitBreaker.js';
import type { AttemptRecord } from '../db/repos/attempts.js';
import { strictBlockedQuery } from '../db/repos/strictOrdering.js';
import type { FetchedJob, JobQueue } from './jobQueue.js';
import type { EndpointRuntime, RuntimeLoader } from './endpointRuntime.js';
import type { HttpSender } from './httpSender.js';
import { executeAttempt, type LoadedDelivery } from './dispatcher.js';
import type { Recorder, RecordEntry } from './recorder.js';
import { createOwnership, slotOf } from './ownership.js';
import { createRoundFetcher, type RoundJob } from './fetchRound.js';
import type { PendingHorizon } from './pendingHorizon.js';

/** Hooks for metrics; the engine works without them. */
export interface EngineObserver {
  attempt?(a: {
    endpointId: string;
    succeeded: boolean;
    errorClass: string | null;
    durationMs: number;
    trigger: AttemptRecord['trigger'];
    deliveryStatus: string;
    /** Publish → this successful attempt, ms. */
    deliveryLatencyMs: number | null;
  }): void;
  breaker?(endpointId: string, state: BreakerState['state']): void;
}

export interface WorkerDeps {
  sql: Sql;
  url: string;
  jobQueue: JobQueue;
  recorder: Recorder;
  sender: HttpSender;
  loadRuntimes: RuntimeLoader;
  log: Logger;
  /** Publishes `webhook.endpoint.disabled` into the endpoint's organization. */
  publishSystemEvent(orgId: string, type: string, data: Record<string, unknown>): Promise<unknown>;
  /** Where pending deliveries start (history partitions): STRICT checks read from there on. */
  pendingHorizon: PendingHorizon;
  observer?: EngineObserver;
  options?: {
    /** Most jobs one fetch takes from one endpoint. */
    fetchBatchMax?: number;
    /**
     * An endpoint with requests in flight fetches again only once this many slots are free
     * (default: a quarter of its maxInFlight), so a busy endpoint costs one lease statement per
     * few deliveries instead of one per delivery. An idle endpoint fetches at once.
     */
    fetchMinBatch?: number;
    /** Safety-net scan for due jobs nobody announced (other processes, expired leases). */
    sweepIntervalMs?: number;
    rebalanceMs?: number;
    /** How often the LISTEN connection proves it receives (see db/listener.ts). */
    listenerCheckMs?: number;
    /**
     * Stop fetching while this many results wait to be recorded (each holds its attempt record,
     * headers included, until committed: the bound keeps the worker's memory flat when Postgres
     * is the bottleneck; about a second of work at full speed).
     */
    maxRecorderBacklog?: number;
  };
}

/** Longest a finished job waits for a lease of its endpoint to delete it. */
const DONE_FLUSH_MS = 200;
/** Wake-up times remembered per endpoint besides its armed timer. */
const DUE_TIMES_MAX = 64;
/** Asleep endpoints whose queue one sweep looks at. */
const SWEEP_ENDPOINTS_MAX = 64;

interface Work {
  job: FetchedJob;
  delivery: LoadedDelivery;
  manual: boolean;
}

interface EndpointState {
  id: string;
  runtime: EndpointRuntime | null;
  /** Jobs taken from the queue and not yet finished (in flight or waiting for their key). */
  inFlight: number;
  /** A fetch for this endpoint is queued or running. */
  fetching: boolean;
  /** The last fetch came back short: nothing due until a wake-up, a timer or the sweep. */
  exhausted: boolean;
  timer: NodeJS.Timeout | null;
  timerAt: number;
  /**
   * Later wake-up times waiting behind the armed timer (retries this worker scheduled, sorted,
   * at most DUE_TIMES_MAX): when a timer fires and its lease comes back short, the next one is
   * armed, so each retry is fetched at its time rather than at the next sweep.
   */
  dueAt: number[];
  tokens: number;
  tokensAtMs: number;
  /** orderingKey → deliveries waiting for the one in flight with that key. */
  keys: Map<string, Work[]>;
  /** Slot being handed over, endpoint deleted, or ownership lost: fetch nothing more. */
  retired: boolean;
  probing: boolean;
  /** Settings or keys changed and are being reloaded: fetch and send nothing until then. */
  reloading: Promise<void> | null;
  reloadsPending: number;
  /** Finished jobs whose outcome is committed, to delete with the next lease (or a flush). */
  done: string[];
  /** When the sweep last looked at this endpoint's queue. */
  sweptAt: number;
  /** A wake-up arrived while a lease was running (see wakeUp). */
  rewoken: boolean;
}

/**
 * The delivery worker. It owns a share of endpoints (see ownership.ts) and, per endpoint, fetches
 * only what that endpoint may take now: free maxInFlight slots, rate-limit tokens, nothing while
 * its breaker is open, one probe when half-open. Fetches are woken by NOTIFY (new jobs), by
 * timers (retries it scheduled, cooldowns) and by a periodic sweep; never by polling sleeps.
 * The endpoints woken in the same tick form a round: one lease statement per endpoint on its own
 * queue partition (pipelined), then one query loading everything leased (fetchRound.ts). Results go to the recorder, which commits them in batches; a
 * finished job is deleted after its outcome commits, with the next lease of its endpoint.
 */
export function createWorker(deps: WorkerDeps) {
  const { sql, jobQueue, recorder, sender, log } = deps;
  const fetchBatchMax = deps.options?.fetchBatchMax ?? 64;
  const fetchMinBatch = deps.options?.fetchMinBatch;
  const sweepIntervalMs = deps.options?.sweepIntervalMs ?? 1000;
  const maxRecorderBacklog = deps.options?.maxRecorderBacklog ?? 4_000;
  const states = new Map<string, EndpointState>();
  const fetchRound = createRoundFetcher({ sql, jobQueue });
  const fetchQueue = new Set<EndpointState>();
  let fetchScheduled = false;
  let stopped = false;
  let sweepTimer: NodeJS.Timeout | null = null;
  const idleWaiters = new Set<() => void>();
  const reloadDone = new Map<EndpointState, () => void>();

  const ownership = createOwnership({
    url: deps.url,
    log,
    rebalanceMs: deps.options?.rebalanceMs,
    hooks: {
      onAcquire: async (slots) => {
        const wanted = new Set(slots);
        const rows = await sql<{ id: string }[]>`SELECT id FROM endpoints WHERE deleted_at IS NULL`;
        const ids = rows.map((r) => r.id).filter((id) => wanted.has(slotOf(id)));
        // Jobs still leased here belonged to a worker that died or handed these slots over
        // without finishing: make them fetchable now instead of after their lease expires.
        const released = await jobQueue.releaseActive(ids);
        if (released > 0) log.info({ released }, 'took over leased jobs from a previous owner');
        await adopt(ids);
      },
      onRelease: async (slots) => {
        const leaving = [...states.values()].filter((s) => slots.includes(slotOf(s.id)));
        for (const s of leaving) retire(s);
        await waitIdle(leaving);
        await recorder.drain();
        await flushDone(leaving);
        for (const s of leaving) states.delete(s.id);
      },
      onLost: () => {
        for (const s of states.values()) retire(s);
        void waitIdle([...states.values()]).then(() => {
          for (const [id, s] of states) if (s.retired && s.inFlight === 0) states.delete(id);
        });
      },
    },
  });

  // Finished jobs are deleted only after their outcome commits, by the next lease statement of
  // their endpoint (same partition, no statement of its own), or by this flush when no lease
  // comes soon. Until then the job stays leased: if this process dies, the job is fetched again
  // and recognised as finished (delivery no longer pending, or its attempt count moved past the
  // job's), so it is dropped without sending.
  let doneTimer: NodeJS.Timeout | null = null;
  const orphanDone = new Map<string, string[]>();
  recorder.afterCommit((entries) => {
    for (const e of entries) {
      if (!e.removeJob) continue;
      const s = states.get(e.removeJob.endpointId);
      if (s) s.done.push(e.removeJob.jobId);
      else {
        const list = orphanDone.get(e.removeJob.endpointId);
        if (list) list.push(e.removeJob.jobId);
        else orphanDone.set(e.removeJob.endpointId, [e.removeJob.jobId]);
      }
    }
    if (!doneTimer) doneTimer = setTimeout(() => void flushDone(), DONE_FLUSH_MS);
  });

  /** Deletes finished jobs that no lease has taken along (idle endpoints, handed-over ones). */
  async function flushDone(only?: EndpointState[]): Promise<void> {
    if (!only) {
      if (doneTimer) clearTimeout(doneTimer);
      doneTimer = null;
    }
    const work = new Map<string, string[]>(only ? [] : orphanDone);
    if (!only) orphanDone.clear();
    for (const s of only ?? states.values()) {
      if (s.done.length === 0 || (!only && s.fetching)) continue;
      work.set(s.id, s.done);
      s.done = [];
    }
    const results = await Promise.allSettled([...work].map(([endpointId, ids]) => jobQueue.remove(sql, endpointId, ids)));
    results.forEach((r, i) => {
      if (r.status === 'fulfilled') return;
      // Kept for the next flush; if this process dies first, the jobs are recognised as finished.
      const [endpointId, ids] = [...work][i]!;
      const s = states.get(endpointId);
      if (s) s.done.push(...ids);
      else orphanDone.set(endpointId, [...(orphanDone.get(endpointId) ?? []), ...ids]);
      log.warn({ err: (r.reason as Error).message, endpointId }, 'could not delete finished jobs; retrying');
    });
    if (!only && !doneTimer && !stopped && (orphanDone.size > 0 || [...states.values()].some((s) => s.done.length > 0))) {
      doneTimer = setTimeout(() => void flushDone(), DONE_FLUSH_MS);
    }
  }

  function newState(id: string): EndpointState {
    return {
      id,
      runtime: null,
      inFlight: 0,
      fetching: false,
      exhausted: false,
      timer: null,
      timerAt: 0,
      dueAt: [],
      tokens: 0,
      tokensAtMs: Date.now(),
      keys: new Map(),
      retired: false,
      probing: false,
      reloading: null,
      reloadsPending: 0,
      done: [],
      sweptAt: 0,
      rewoken: false,
    };
  }

  function retire(s: EndpointState): void {
    s.retired = true;
    if (s.timer) clearTimeout(s.timer);
    s.timer = null;
    s.dueAt = [];
  }

  async function adopt(ids: string[]): Promise<void> {
    const fresh: EndpointState[] = [];
    for (const id of ids) {
      if (states.has(id) && !states.get(id)!.retired) continue;
      const s = newState(id);
      states.set(id, s);
      fresh.push(s);
    }
    await loadInto(fresh);
    for (const s of fresh) requestFetch(s);
    // Retries scheduled before this worker took the endpoints over: wake up for them on time.
    await armFromQueue(fresh.filter((s) => !s.retired)).catch((err) => log.warn({ err: (err as Error).message }, 'could not read due times'));
  }

  async function loadInto(list: EndpointState[]): Promise<void> {
    for (let i = 0; i < list.length; i += 500) {
      const chunk = list.slice(i, i + 500);
      const runtimes = await deps.loadRuntimes(chunk.map((s) => s.id));
      for (const s of chunk) {
        const runtime = runtimes.get(s.id) ?? null;
        s.runtime = runtime;
        if (!runtime || runtime.deleted) {
          retire(s);
          continue;
        }
        if (runtime.rateLimitPerSecond && s.tokens === 0) s.tokens = runtime.rateLimitPerSecond;
        if (runtime.reloadAtMs) setTimer(s, runtime.reloadAtMs, true);
      }
    }
  }

  /**
   * Wakes the endpoint at `atMs`: arms its timer when that is the earliest time, or remembers the
   * time for later; `reload` refreshes keys first.
   */
  function setTimer(s: EndpointState, atMs: number, reload = false): void {
    if (s.retired || stopped) return;
    if (s.timer && s.timerAt <= atMs) {
      rememberDue(s, atMs);
      return;
    }
    if (s.timer) {
      clearTimeout(s.timer);
      rememberDue(s, s.timerAt);
    }
    armTimer(s, atMs, reload);
  }

  function armTimer(s: EndpointState, atMs: number, reload: boolean): void {
    s.timerAt = atMs;
    s.timer = setTimeout(
      () => {
        s.timer = null;
        // The next remembered time becomes the armed one (times within a few ms share a fetch).
        const nowMs = Date.now();
        while (s.dueAt.length && s.dueAt[0]! <= nowMs + 5) s.dueAt.shift();
        if (s.dueAt.length) armTimer(s, s.dueAt.shift()!, false);
        if (reload || (s.runtime?.reloadAtMs && s.runtime.reloadAtMs <= Date.now())) {
          s.exhausted = false;
          void loadInto([s]).then(() => wakeUp(s), (err) => log.warn({ err: (err as Error).message }, 'reload failed'));
        } else {
          wakeUp(s);
        }
      },
      // setTimeout overflows past 2^31-1 ms (24.8 days) into "now"; far timers are re-armed.
      Math.min(Math.max(0, atMs - Date.now() + 2), 86_400_000),
    );
  }

  /** Keeps `atMs` among the endpoint's next wake-ups (sorted, bounded; the sweep finds the rest). */
  function rememberDue(s: EndpointState, atMs: number): void {
    const list = s.dueAt;
    if (list.length >= DUE_TIMES_MAX && atMs >= list[list.length - 1]!) return;
    let i = list.length;
    while (i > 0 && list[i - 1]! > atMs) i--;
    // Within 5 ms of a remembered time: one fetch serves both.
    if ((i > 0 && atMs - list[i - 1]! < 5) || (i < list.length && list[i]! - atMs < 5)) return;
    list.splice(i, 0, atMs);
    if (list.length > DUE_TIMES_MAX) list.pop();
  }

  /** How many jobs the endpoint may take right now, arming a timer when the answer is "later". */
  function allowance(s: EndpointState, nowMs: number): number {
    const rt = s.runtime;
    if (!rt || s.retired || !rt.active || stopped || s.reloading) return 0;
    if (recorder.backlog() > maxRecorderBacklog) return 0;
    let free = rt.maxInFlight - s.inFlight;
    if (free <= 0) return 0;
    // Busy: wait for a few free slots, then take them in one lease. The last completion of the
    // batch in flight always gets here with every slot free, so nothing waits longer than that.
    if (s.inFlight > 0 && free < (fetchMinBatch ?? Math.ceil(rt.maxInFlight / 4))) return 0;
    const gate = breakerGate(rt.breaker, nowMs, rt.breakerSettings);
    if (gate.action === 'WAIT') {
      setTimer(s, gate.untilMs);
      return 0;
    }
    if (gate.action === 'PROBE') {
      // One probe at a time: nothing else may be in flight or waiting.
      if (s.inFlight > 0) return 0;
      free = 1;
    }
    if (rt.rateLimitPerSecond) {
      const rate = rt.rateLimitPerSecond;
      s.tokens = Math.min(rate, s.tokens + ((nowMs - s.tokensAtMs) / 1000) * rate);
      s.tokensAtMs = nowMs;
      if (s.tokens < 1) {
        setTimer(s, nowMs + Math.ceil(((1 - s.tokens) / rate) * 1000));
        return 0;
      }
      free = Math.min(free, Math.floor(s.tokens));
    }
    return Math.min(free, fetchBatchMax);
  }

  /**
   * Something may be due for the endpoint now. If a lease is running, it may have started before
   * that something was committed: remember, so that lease coming back short does not put the
   * endpoint to sleep.
   */
  function wakeUp(s: EndpointState): void {
    s.exhausted = false;
    if (s.fetching) s.rewoken = true;
    requestFetch(s);
  }

  function requestFetch(s: EndpointState): void {
    if (s.fetching || s.exhausted || s.retired || stopped) return;
    fetchQueue.add(s);
    if (!fetchScheduled) {
      fetchScheduled = true;
      setImmediate(runFetchRound);
    }
  }

  function runFetchRound(): void {
    fetchScheduled = false;
    const nowMs = Date.now();
    const round: { s: EndpointState; limit: number }[] = [];
    for (const s of fetchQueue) {
      fetchQueue.delete(s);
      const limit = allowance(s, nowMs);
      if (limit <= 0) continue;
      s.fetching = true;
      s.inFlight += limit; // reserved until the fetch answers
      if (s.runtime!.rateLimitPerSecond) s.tokens -= limit;
      round.push({ s, limit });
    }
    if (round.length) void fetchAndDispatch(round);
  }

  async function fetchAndDispatch(round: { s: EndpointState; limit: number }[]): Promise<void> {
    // Finished jobs of these endpoints go in the same statements (see flushDone).
    const done = new Map<string, string[]>();
    for (const r of round) {
      if (r.s.done.length === 0) continue;
      done.set(r.s.id, r.s.done);
      r.s.done = [];
    }
    const results = await fetchRound(
      round.map((r) => ({ endpointId: r.s.id, limit: r.limit })),
      done,
    );
    const got = new Map<EndpointState, number>();
    const leased: RoundJob[] = [];
    results.forEach((result, i) => {
      const r = round[i]!;
      if (result.status === 'rejected') {
        const reason = result.reason as Error & { leased?: FetchedJob[] };
        log.warn({ err: reason.message, endpointId: r.s.id }, 'fetch failed; retrying soon');
        // Leased but not loaded: hand the jobs back rather than wait for their lease to expire.
        for (const job of reason.leased ?? []) {
          recorder.add({ requeueJob: { endpointId: job.endpointId, jobId: job.id, startAfter: new Date(Date.now() + 1000) } });
        }
        const ids = done.get(r.s.id);
        if (ids) r.s.done.push(...ids);
        setTimer(r.s, Date.now() + 1000);
        return;
      }
      for (const w of result.value) {
        got.set(r.s, (got.get(r.s) ?? 0) + 1);
        leased.push(w);
      }
    });
    for (const r of round) {
      const n = got.get(r.s) ?? 0;
      r.s.inFlight -= r.limit - n;
      if (r.s.runtime?.rateLimitPerSecond) r.s.tokens += r.limit - n;
      r.s.fetching = false;
      // Nothing more is due now: sleep until a wake-up, a scheduled retry's timer or the sweep,
      // unless a wake-up came while this lease ran.
      if (n < r.limit && !r.s.rewoken) r.s.exhausted = true;
      r.s.rewoken = false;
    }
    if (leased.length === 0) {
      notifyIdle();
      for (const r of round) requestFetch(r.s);
      return;
    }
    const loaded = new Map<string, LoadedDelivery>();
    for (const w of leased) if (w.delivery) loaded.set(w.delivery.id, w.delivery);
    const jobs = leased.map((w) => w.job);
    let blocked: Set<string>;
    try {
      blocked = await strictBlocked(jobs, loaded);
    } catch (err) {
      // The jobs stay leased; hand them back so they are fetched again.
      log.warn({ err: (err as Error).message, jobs: jobs.length }, 'checking STRICT ordering failed');
      for (const job of jobs) {
        const s = states.get(job.endpointId);
        if (s) s.inFlight--;
        recorder.add({ requeueJob: { endpointId: job.endpointId, jobId: job.id, startAfter: new Date(Date.now() + 1000) } });
      }
      notifyIdle();
      return;
    }
    for (const job of jobs) {
      const s = states.get(job.endpointId)!;
      const delivery = loaded.get(job.deliveryId);
      if (
        !delivery ||
        delivery.status !== 'PENDING' ||
        (!job.manual && job.attemptsMade !== null && job.attemptsMade !== delivery.attemptCount)
      ) {
        // Already finished, cancelled, or a leftover whose attempt is recorded (its successor job,
        // if any, was written with that record): nothing to send.
        finish(s, null, { removeJob: { endpointId: job.endpointId, jobId: job.id } });
        continue;
      }
      if (blocked.has(delivery.id)) {
        finish(s, null, {
          park: { deliveryId: delivery.id },
          removeJob: { endpointId: job.endpointId, jobId: job.id },
          strictKey: { endpointId: job.endpointId, orderingKey: delivery.orderingKey! },
        });
        continue;
      }
      const work: Work = { job, delivery, manual: job.manual };
      if (delivery.orderingKey !== null) {
        const waiting = s.keys.get(delivery.orderingKey);
        if (waiting) {
          waiting.push(work);
          continue;
        }
        s.keys.set(delivery.orderingKey, []);
      }
      void dispatch(s, work);
    }
    for (const r of round) requestFetch(r.s);
  }

  /** STRICT endpoints: deliveries that an earlier pending delivery with the same key holds back. */
  async function strictBlocked(jobs: FetchedJob[], loaded: Map<string, LoadedDelivery>): Promise<Set<string>> {
    const candidates: LoadedDelivery[] = [];
    for (const job of jobs) {
      const d = loaded.get(job.deliveryId);
      const rt = states.get(job.endpointId)?.runtime;
      if (d && d.status === 'PENDING' && d.orderingKey !== null && rt?.orderingMode === 'STRICT' && !job.manual) candidates.push(d);
    }
    if (candidates.length === 0) return new Set();
    const endpointOf = new Map(jobs.map((j) => [j.deliveryId, j.endpointId]));
    const rows = await strictBlockedQuery(
      sql,
      candidates.map((c) => ({ id: c.id, endpointId: endpointOf.get(c.id)!, orderingKey: c.orderingKey!, seq: c.seq })),
      await deps.pendingHorizon.deliveryBound(),
    );
    return new Set(rows.map((r) => r.id));
  }

  async function dispatch(s: EndpointState, work: Work): Promise<void> {
    // A job fetched just before a settings or key change goes out with the new ones.
    if (s.reloading) await s.reloading;
    const rt = s.runtime!;
    const { job, delivery } = work;
    const gate = breakerGate(rt.breaker, Date.now(), rt.breakerSettings);
    if (gate.action === 'WAIT' || (gate.action === 'PROBE' && s.probing)) {
      // The breaker opened after this job was fetched: it waits without spending an attempt.
      const until = gate.action === 'WAIT' ? gate.untilMs : Date.now() + 1000;
      finish(s, work, { requeueJob: { endpointId: s.id, jobId: job.id, startAfter: new Date(until) } });
      return;
    }
    if (gate.action === 'PROBE') {
      s.probing = true;
      applyBreaker(s, { state: gate.state, transition: { from: rt.breaker.state, to: 'HALF_OPEN' }, disableEndpoint: false }, 'cooldown over; sending one probe');
    }
    let execution;
    try {
      execution = await executeAttempt(sender, rt, delivery, work.manual ? 'MANUAL' : 'SCHEDULED', {
        singleAttempt: work.manual && job.singleAttempt,
      });
    } catch (err) {
      log.error({ err, endpointId: s.id, deliveryId: delivery.id }, 'attempt crashed; retrying the job shortly');
      finish(s, work, { requeueJob: { endpointId: s.id, jobId: job.id, startAfter: new Date(Date.now() + 5000) } });
      return;
    }
    const { attempt, outcome, step } = execution;
    const nowMs = Date.now();
    const update = outcome.succeeded ? recordSuccess(rt.breaker, rt.breakerSettings, nowMs) : recordFailure(rt.breaker, rt.breakerSettings, nowMs);
    if (s.probing) s.probing = false;
    const breakerChanged = !sameBreaker(update.state, rt.breaker);
    const disableReason = outcome.disableEndpoint
      ? `The endpoint answered 410 Gone on ${attempt.startedAt.toISOString()}.`
      : update.disableEndpoint
        ? 'The circuit breaker stayed open for 5 days.'
        : null;
    if (breakerChanged || disableReason) {
      applyBreaker(s, update, update.transition ? `${update.transition.from} → ${update.transition.to}` : 'failure counted', disableReason);
    }
    const entry: RecordEntry = {
      attempt,
      delivery: {
        id: delivery.id,
        status: step.status,
        attemptCount: attempt.attemptNumber,
        nextAttemptAt: step.nextAttemptAtMs ? new Date(step.nextAttemptAtMs) : null,
        lastAttemptAt: attempt.startedAt,
        lastAttemptId: attempt.id,
        completedAt: step.status === 'PENDING' ? null : new Date(nowMs),
      },
      summary: summarizeAttempt(attempt, { eventId: delivery.eventId, status: step.status }),
      removeJob: { endpointId: s.id, jobId: job.id },
      enqueue:
        step.status === 'PENDING'
          ? {
              endpointId: s.id,
              deliveryId: delivery.id,
              eventId: delivery.eventId,
              startAfter: new Date(step.nextAttemptAtMs!),
              attemptsMade: attempt.attemptNumber,
            }
          : undefined,
      strictKey:
        delivery.orderingKey !== null && rt.orderingMode === 'STRICT' && step.status !== 'PENDING'
          ? { endpointId: s.id, orderingKey: delivery.orderingKey }
          : undefined,
    };
    deps.observer?.attempt?.({
      endpointId: s.id,
      succeeded: attempt.succeeded,
      errorClass: attempt.errorClass,
      durationMs: attempt.durationMs,
      trigger: attempt.trigger,
      deliveryStatus: step.status,
      deliveryLatencyMs: attempt.succeeded ? nowMs - delivery.eventCreatedAt.getTime() : null,
    });
    if (step.status === 'PENDING') setTimer(s, step.nextAttemptAtMs!);
    finish(s, work, entry, step.status);
  }

  function applyBreaker(
    s: EndpointState,
    update: { state: BreakerState; transition: { from: string; to: string } | null; disableEndpoint: boolean },
    reason: string,
    disableReason: string | null = null,
  ): void {
    const rt = s.runtime!;
    rt.breaker = update.state;
    if (disableReason) rt.active = false;
    const health: EndpointHealthChange | undefined =
      update.transition || disableReason
        ? {
            orgId: rt.orgId,
            endpointId: s.id,
            circuitState: update.state.state,
            active: rt.active,
            disabledReason: disableReason,
            reason: disableReason ?? reason,
            at: new Date().toISOString(),
          }
        : undefined;
    recorder.setEndpointState(
      { endpointId: s.id, breaker: update.state, disable: disableReason ? { reason: disableReason } : undefined },
      health,
    );
    if (update.transition) deps.observer?.breaker?.(s.id, update.state.state);
    if (update.state.state === 'OPEN' && update.state.openUntilMs) setTimer(s, update.state.openUntilMs);
    if (disableReason) {
      log.warn({ endpointId: s.id, reason: disableReason }, 'endpoint disabled');
      deps
        .publishSystemEvent(rt.orgId, 'webhook.endpoint.disabled', {
          endpointId: s.id,
          url: rt.url,
          reason: disableReason,
          disabledAt: new Date().toISOString(),
        })
        .catch((err) => log.error({ err }, 'could not publish webhook.endpoint.disabled'));
    }
  }

  /** Ends one job: records its entry, frees its slot, passes its orderingKey on. */
  function finish(s: EndpointState, work: Work | null, entry: RecordEntry, status?: string): void {
    recorder.add(entry);
    s.inFlight--;
    const key = work?.delivery.orderingKey ?? null;
    if (work && key !== null) {
      const waiting = s.keys.get(key);
      const next = waiting?.shift();
      if (!next) {
        s.keys.delete(key);
      } else if (s.runtime?.orderingMode === 'STRICT' && status === 'PENDING') {
        // STRICT: the failed delivery holds its key; the ones behind it wait in the database.
        for (const w of [next, ...waiting!]) {
          s.inFlight--;
          recorder.add({
            park: { deliveryId: w.delivery.id },
            removeJob: { endpointId: s.id, jobId: w.job.id },
            strictKey: { endpointId: s.id, orderingKey: key },
          });
        }
        s.keys.delete(key);
      } else {
        void dispatch(s, next);
      }
    }
    if (s.inFlight === 0) notifyIdle();
    requestFetch(s);
  }

  function notifyIdle(): void {
    for (const resolve of idleWaiters) resolve();
  }

  async function waitIdle(list: EndpointState[]): Promise<void> {
    while (list.some((s) => s.inFlight > 0 || s.fetching)) {
      await new Promise<void>((resolve) => {
        const done = () => {
          idleWaiters.delete(done);
          resolve();
        };
        idleWaiters.add(done);
        setTimeout(done, 200);
      });
    }
  }

  /**
   * The safety net for due jobs nobody announced (a lease expired, a notification missed while
   * the listener reconnected, retries scheduled before this worker took the endpoint over):
   * endpoints that are asleep (their last lease came back short) without a wake-up armed.
   */
  async function sweep(): Promise<void> {
    const asleep: EndpointState[] = [];
    for (const s of states.values()) {
      if (s.retired || s.fetching || !s.runtime?.active) continue;
      if (!s.exhausted) {
        // Idle but not asleep: a fetch was declined (recorder backlog); ask again.
        if (s.inFlight === 0) requestFetch(s);
      } else if (!s.timer || s.timerAt - Date.now() > 2 * sweepIntervalMs) {
        asleep.push(s);
      }
    }
    if (asleep.length === 0) return;
    // A bounded share per sweep, least recently checked first: many idle endpoints cost a few
    // queries a second, and each is still looked at every few seconds.
    asleep.sort((a, b) => a.sweptAt - b.sweptAt);
    asleep.length = Math.min(asleep.length, SWEEP_ENDPOINTS_MAX);
    await armFromQueue(asleep);
  }

  /** Arms each endpoint's timer from its earliest waiting job (fetching at once if one is due). */
  async function armFromQueue(list: EndpointState[]): Promise<void> {
    if (list.length === 0) return;
    for (const s of list) s.sweptAt = Date.now();
    const due = await jobQueue.nextDue(list.map((s) => s.id));
    const nowMs = Date.now();
    for (const s of list) {
      const at = due.get(s.id);
      if (!at) continue;
      if (at.getTime() <= nowMs) {
        wakeUp(s);
      } else {
        setTimer(s, at.getTime());
      }
    }
  }

  function scheduleSweep(): void {
    if (stopped) return;
    sweepTimer = setTimeout(() => {
      sweep()
        .catch((err) => log.warn({ err: (err as Error).message }, 'sweep failed'))
        .finally(scheduleSweep);
    }, sweepIntervalMs);
  }

  const listener = createListener({
    sql,
    log,
    name: 'worker',
    channels: {
      [CHANNELS.wake]: (payload) => {
        for (const id of payload.split(',')) {
          const s = states.get(id);
          if (s) wakeUp(s);
        }
      },
      [CHANNELS.endpointChanged]: (payload) => {
        onEndpointChanged(parseJsonPayload<EndpointChanged>(payload)).catch((err) =>
          log.warn({ err: (err as Error).message }, 'could not apply an endpoint change'),
        );
      },
    },
    onGap: () => {
      resync().catch((err) => log.warn({ err: (err as Error).message }, 'could not catch up after a listener gap'));
    },
    healthCheckMs: deps.options?.listenerCheckMs,
  });

  /**
   * Catches up on what the listener may have missed while it was away: endpoints changed,
   * created or deleted (settings reloaded, new ones of our slots adopted, deleted ones retired)
   * and jobs announced (every endpoint fetches).
   */
  async function resync(): Promise<void> {
    if (stopped) return;
    const alive = new Set((await sql<{ id: string }[]>`SELECT id FROM endpoints WHERE deleted_at IS NULL`).map((r) => r.id));
    const changes: EndpointChanged[] = [];
    for (const s of states.values()) {
      if (!s.retired) changes.push({ orgId: s.runtime?.orgId ?? '', endpointId: s.id, deleted: !alive.has(s.id) });
    }
    for (const id of alive) if (!states.has(id) && ownership.ownsEndpoint(id)) changes.push({ orgId: '', endpointId: id });
    await onEndpointChanged(changes);
    for (const s of states.values()) wakeUp(s);
    log.info({ endpoints: changes.length }, 'caught up after a listener gap');
  }

  async function onEndpointChanged(changes: EndpointChanged[]): Promise<void> {
    const reload: EndpointState[] = [];
    const added: string[] = [];
    for (const change of changes) {
      const s = states.get(change.endpointId);
      if (change.deleted) {
        if (s) {
          retire(s);
          sender.forgetEndpoint(change.endpointId);
          fetchRound.forget(change.endpointId);
          if (s.inFlight === 0) states.delete(change.endpointId);
        }
        continue;
      }
      if (s) {
        sender.forgetEndpoint(change.endpointId);
        reload.push(s);
        // Set synchronously: the wake-up that follows this change on the same channel order
        // must not fetch with the old settings. Overlapping changes share one gate, opened
        // when the last reload finishes.
        s.reloadsPending++;
        if (!s.reloading) s.reloading = new Promise<void>((resolve) => reloadDone.set(s, resolve));
      } else if (ownership.ownsEndpoint(change.endpointId)) {
        added.push(change.endpointId);
      }
    }
    if (reload.length) {
      try {
        await loadInto(reload);
      } finally {
        for (const s of reload) {
          if (--s.reloadsPending > 0) continue;
          reloadDone.get(s)?.();
          reloadDone.delete(s);
          s.reloading = null;
          wakeUp(s);
        }
      }
    }
    if (added.length) await adopt(added);
  }

  return {
    ownership,
    async start(): Promise<void> {
      await listener.start();
      await ownership.start();
      scheduleSweep();
    },
    /** Stops fetching, lets in-flight attempts finish (each bounded by its timeout), records them. */
    async stop(): Promise<void> {
      if (stopped) return;
      if (sweepTimer) clearTimeout(sweepTimer);
      await ownership.stop();
      stopped = true;
      for (const s of states.values()) retire(s);
      await waitIdle([...states.values()]);
      await recorder.drain();
      await flushDone();
      if (doneTimer) clearTimeout(doneTimer);
      await listener.stop();
    },
    /** Endpoints this worker currently delivers for (tests and metrics). */
    ownedEndpoints: () => [...states.values()].filter((s) => !s.retired).map((s) => s.id),
    /** False while the LISTEN connection is known not to receive (readiness). */
    listening: () => listener.listening(),
    inFlight: () => [...states.values()].reduce((n, s) => n + s.inFlight, 0),
  };
}
export type Worker = ReturnType<typeof createWorker>;

function sameBreaker(a: BreakerState, b: BreakerState): boolean {
  return (
    a.state === b.state &&
    a.consecutiveFailures === b.consecutiveFailures &&
    a.openedAtMs === b.openedAtMs &&
    a.openUntilMs === b.openUntilMs &&
    a.currentCooldownSeconds === b.currentCooldownSeconds
  );
}
