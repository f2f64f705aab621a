import type { AttemptOutcome } from './attemptOutcome.js';
import { retryDelayMs, type RetryPolicy } from './retrySchedule.js';

export type DeliveryStatus = 'PENDING' | 'SUCCEEDED' | 'DEAD' | 'CANCELLED';

export interface NextStep {
  status: DeliveryStatus;
  /** When the next attempt is due (PENDING only). */
  nextAttemptAtMs: number | null;
}

/**
 * What happens to a delivery after an attempt: succeeded, dead, or pending with its next attempt
 * scheduled by the endpoint's retry policy. `singleAttempt` marks a manual retry of a dead
 * delivery: it gets one attempt and returns to DEAD if that fails, rather than a new schedule.
 */
export function nextStep(params: {
  outcome: AttemptOutcome;
  attemptsMade: number;
  policy: RetryPolicy;
  singleAttempt: boolean;
  nowMs: number;
  random: number;
}): NextStep {
  const { outcome } = params;
  if (outcome.succeeded) return { status: 'SUCCEEDED', nextAttemptAtMs: null };
  // The transformation failed on this event: the same code on the same event fails again, so
  // the delivery is dead at once (replayable once the code is fixed).
  if (outcome.errorClass === 'TRANSFORMATION') return { status: 'DEAD', nextAttemptAtMs: null };
  // 410 Gone: the receiver says this endpoint no longer exists; retrying cannot help.
  if (outcome.disableEndpoint || params.singleAttempt) return { status: 'DEAD', nextAttemptAtMs: null };
  const delay = retryDelayMs(params.policy, params.attemptsMade, params.random, outcome.retryAfterSeconds);
  if (delay === null) return { status: 'DEAD', nextAttemptAtMs: null };
  return { status: 'PENDING', nextAttemptAtMs: params.nowMs + delay };
}

/** The JSON body sent to endpoints; `dataJson` is the stored payload's JSON text, sent as is. */
export function envelopeBody(event: { id: string; type: string; timestamp: string; dataJson: string }): string {
  return `{"id":${JSON.stringify(event.id)},"type":${JSON.stringify(event.type)},"timestamp":${JSON.stringify(event.timestamp)},"data":${event.dataJson}}`;
}
