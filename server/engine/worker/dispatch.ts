import type { Logger } from '../../logger.js';
import { summarizeAttempt, type EndpointHealthChange } from '../../db/notifications.js';
import { breakerGate, recordFailure, recordSuccess, type BreakerState, type BreakerUpdate } from '../../domain/circuitBreaker.js';
import { completed, notSent } from '../../domain/sendWindow.js';
import { cancelledEntry, executeAttempt } from '../dispatcher.js';
import type { HttpSender } from '../httpSender.js';
import type { Recorder, RecordEntry } from '../recorder.js';
import type { SystemEvents } from '../systemEvents.js';
import type { Tracing } from '../tracing.js';
import type { EngineObserver } from './observer.js';
import type { EndpointState, Work } from './endpointStates.js';
import { releaseKey } from './orderingKeys.js';

export interface DispatchDeps {
  sender: HttpSender;
  recorder: Recorder;
  systemEvents: SystemEvents;
  log: Logger;
  observer?: EngineObserver;
  /** Trace context and spans of attempts (engine/tracing.ts). */
  tracing?: Tracing;
  /** Wakes the endpoint at `atMs` (retry due, cooldown over). */
  armTimer(endpointId: string, atMs: number): void;
  /** The endpoint may lease again (a slot freed up). */
  requestLease(s: EndpointState): void;
  /** An endpoint has nothing in flight any more. */
  onIdle(): void;
}

/** An attempt that crashed (a bug, never a receiver's doing) is tried again after this long. */
const CRASH_RETRY_MS = 5000;

/**
 * One leased delivery to its recorded outcome: the breaker gate (an open circuit hands the job
 * back unattempted), the attempt (engine/dispatcher.ts), the breaker's and the retry schedule's
 * verdicts, the record for the recorder, and the hand-off of the delivery's orderingKey.
 */
export function createDispatch(deps: DispatchDeps) {
  const { recorder, log } = deps;

  /** Ends one job: records its entry, frees its slot, passes its orderingKey on. */
  function finish(s: EndpointState, work: Work | null, entry: RecordEntry, outcome: { sent: boolean; status?: string }): void {
    recorder.add(entry);
    s.inFlight--;
    const nowMs = Date.now();
    if (s.window) {
      if (outcome.sent) completed(s.window, nowMs);
      else notSent(s.window);
    }
    if (work) {
      const { next, park } = releaseKey(s, work, s.runtime?.orderingMode === 'STRICT' && outcome.status === 'PENDING');
      // STRICT: the failed delivery holds its key; the ones behind it wait in the database.
      for (const w of park) {
        s.inFlight--;
        if (s.window) notSent(s.window);
        recorder.add({
          park: { deliveryId: w.delivery.id },
          removeJob: w.job,
          strictKey: { endpointId: s.id, orderingKey: w.delivery.orderingKey! },
        });
      }
      if (next) void dispatch(s, next);
    }
    s.touchedMs = nowMs;
    if (s.inFlight === 0) deps.onIdle();
    deps.requestLease(s);
  }

  async function dispatch(s: EndpointState, work: Work): Promise<void> {
    // A job leased just before a settings or key change goes out with the new ones.
    if (s.reloading) await s.reloading;
    const rt = s.runtime;
    const { job, delivery } = work;
    if (!rt || rt.deleted) {
      // Deleted meanwhile: its deliveries were cancelled with it.
      finish(s, work, { removeJob: job }, { sent: false });
      return;
    }
    const gate = breakerGate(rt.breaker, Date.now(), rt.breakerSettings);
    if (gate.action === 'WAIT' || (gate.action === 'PROBE' && s.probing)) {
      // The breaker opened after this job was leased: it waits without spending an attempt.
      const until = gate.action === 'WAIT' ? gate.untilMs : Date.now() + 1000;
      deps.armTimer(s.id, until);
      finish(s, work, { requeueJob: { shard: s.shard, jobId: job.id, startAfter: new Date(until) } }, { sent: false });
      return;
    }
    if (gate.action === 'PROBE') {
      s.probing = true;
      applyBreaker(s, { state: gate.state, transition: { from: rt.breaker.state, to: 'HALF_OPEN' }, disableEndpoint: false }, 'cooldown over; sending one probe');
    }
    let execution;
    try {
      execution = await executeAttempt(deps.sender, rt, delivery, work.manual ? 'MANUAL' : 'SCHEDULED', {
        singleAttempt: work.manual && job.singleAttempt,
        tracing: deps.tracing,
      });
    } catch (err) {
      s.probing = false;
      log.error({ err, endpointId: s.id, deliveryId: delivery.id }, 'attempt crashed; retrying the job shortly');
      const at = Date.now() + CRASH_RETRY_MS;
      deps.armTimer(s.id, at);
      finish(s, work, { requeueJob: { shard: s.shard, jobId: job.id, startAfter: new Date(at) } }, { sent: true });
      return;
    }
    if ('cancelled' in execution) {
      // The endpoint's transformation cancelled it: nothing was sent, the breaker is untouched.
      s.probing = false;
      finish(s, work, cancelledEntry(rt, job, delivery), { sent: false, status: 'CANCELLED' });
      return;
    }
    const { attempt, outcome, step } = execution;
    const nowMs = Date.now();
    // A failed transformation, or a payload purged by retention (failed without an error class:
    // nothing was sent), says nothing about the receiver: the breaker is untouched.
    const update: BreakerUpdate =
      outcome.errorClass === 'TRANSFORMATION' || (!outcome.succeeded && outcome.errorClass === null)
        ? { state: rt.breaker, transition: null, disableEndpoint: false }
        : outcome.succeeded
          ? recordSuccess(rt.breaker, rt.breakerSettings, nowMs)
          : recordFailure(rt.breaker, rt.breakerSettings, nowMs);
    s.probing = false;
    const disableReason = outcome.disableEndpoint
      ? `The endpoint answered 410 Gone on ${attempt.startedAt.toISOString()}.`
      : update.disableEndpoint
        ? 'The circuit breaker stayed open for 5 days.'
        : null;
    if (!sameBreaker(update.state, rt.breaker) || disableReason) {
      applyBreaker(s, update, update.transition ? `${update.transition.from} → ${update.transition.to}` : 'failure counted', disableReason, {
        errorClass: attempt.errorClass,
        responseStatus: attempt.responseStatus,
      });
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
      removeJob: job,
      enqueue:
        step.status === 'PENDING'
          ? { endpointId: s.id, deliveryId: delivery.id, eventId: delivery.eventId, startAfter: new Date(step.nextAttemptAtMs!), attemptsMade: attempt.attemptNumber }
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
    if (step.status === 'PENDING') deps.armTimer(s.id, step.nextAttemptAtMs!);
    if (step.status === 'DEAD') {
      deps.systemEvents.deliveryExhausted(rt, {
        deliveryId: delivery.id,
        eventId: delivery.eventId,
        eventType: delivery.eventType,
        attempts: attempt.attemptNumber,
        lastErrorClass: attempt.errorClass,
        lastResponseStatus: attempt.responseStatus,
        lastAttemptAt: attempt.startedAt.toISOString(),
      });
    }
    finish(s, work, entry, { sent: true, status: step.status });
  }

  function applyBreaker(
    s: EndpointState,
    update: BreakerUpdate,
    reason: string,
    disableReason: string | null = null,
    last: { errorClass: string | null; responseStatus: number | null } = { errorClass: null, responseStatus: null },
  ): void {
    const rt = s.runtime!;
    const previous = rt.breaker;
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
    recorder.setEndpointState({ endpointId: s.id, breaker: update.state, disable: disableReason ? { reason: disableReason } : undefined }, health);
    if (update.transition) deps.observer?.breaker?.(s.id, update.state.state);
    if (update.state.state === 'OPEN' && update.state.openUntilMs) deps.armTimer(s.id, update.state.openUntilMs);
    if (update.transition?.from === 'CLOSED' && update.transition.to === 'OPEN') deps.systemEvents.circuitOpened(rt, update.state, last);
    if (update.transition?.from === 'HALF_OPEN' && update.transition.to === 'CLOSED') deps.systemEvents.recovered(rt, previous);
    if (disableReason) {
      log.warn({ endpointId: s.id, reason: disableReason }, 'endpoint disabled');
      deps.systemEvents.disabled(rt, disableReason);
    }
  }

  return { dispatch, finish };
}
export type Dispatch = ReturnType<typeof createDispatch>;

function sameBreaker(a: BreakerState, b: BreakerState): boolean {
  return (
    a.state === b.state &&
    a.consecutiveFailures === b.consecutiveFailures &&
    a.openedAtMs === b.openedAtMs &&
    a.openUntilMs === b.openUntilMs &&
    a.currentCooldownSeconds === b.currentCooldownSeconds
  );
}
