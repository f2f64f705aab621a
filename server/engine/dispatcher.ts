import { newId } from '../crypto/random.js';
import { classifyOutcome, type AttemptOutcome } from '../domain/attemptOutcome.js';
import { envelopeBody, nextStep, type NextStep } from '../domain/deliveryPlan.js';
import type { AttemptRecord } from '../db/repos/attempts.js';
import type { EndpointRuntime } from './endpointRuntime.js';
import type { HttpSender } from './httpSender.js';

export const USER_AGENT = 'org-webhooks/0.1 (+https://www.standardwebhooks.com)';
const MASKED = '••••';

/**
 * The payload text of an event whose payload retention purged it (events.data is NULL; published
 * payloads are always JSON objects, so `null` never comes from a publisher).
 */
export const PURGED_PAYLOAD_JSON = 'null';

/** A delivery as loaded for an attempt. */
export interface LoadedDelivery {
  id: string;
  orgId: string;
  eventId: string;
  eventType: string;
  /** The event's creation time: the envelope `timestamp`, and the start of delivery latency. */
  eventCreatedAt: Date;
  /** The stored payload as JSON text, sent without re-serialising. */
  dataJson: string;
  attemptCount: number;
  orderingKey: string | null;
  seq: number;
  status: 'PENDING' | 'SUCCEEDED' | 'DEAD' | 'CANCELLED';
}

export interface AttemptExecution {
  attempt: AttemptRecord;
  outcome: AttemptOutcome;
  step: NextStep;
}

/**
 * One attempt end to end, without touching the database: build the envelope, sign it with every
 * key the endpoint signs with now (fresh `webhook-timestamp` per attempt), send it, classify the
 * answer and decide the delivery's next step. The caller records the result.
 */
export async function executeAttempt(
  sender: HttpSender,
  runtime: EndpointRuntime,
  delivery: LoadedDelivery,
  trigger: AttemptRecord['trigger'],
  options: { singleAttempt?: boolean } = {},
): Promise<AttemptExecution> {
  if (delivery.dataJson === PURGED_PAYLOAD_JSON) return payloadPurged(runtime, delivery, trigger);
  const body = envelopeBody({
    id: delivery.eventId,
    type: delivery.eventType,
    timestamp: delivery.eventCreatedAt.toISOString(),
    dataJson: delivery.dataJson,
  });
  const startedAt = new Date();
  const timestamp = Math.floor(startedAt.getTime() / 1000);
  const headers: Record<string, string> = {
    ...runtime.headers,
    'content-type': 'application/json',
    'user-agent': USER_AGENT,
    'webhook-id': delivery.eventId,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': runtime.signer(delivery.eventId, timestamp, body),
  };
  const result = await sender.send({
    endpointId: runtime.id,
    url: runtime.url,
    headers,
    body,
    timeoutMs: runtime.timeoutMs,
    tls: runtime.tls,
  });
  const nowMs = Date.now();
  const outcome = classifyOutcome(
    result.ok ? { status: result.status, headers: result.headers } : { errorClass: result.errorClass, errorMessage: result.errorMessage },
    nowMs,
  );
  const attemptNumber = delivery.attemptCount + 1;
  const step = nextStep({
    outcome,
    attemptsMade: attemptNumber,
    policy: runtime.retryPolicy,
    singleAttempt: options.singleAttempt ?? false,
    nowMs,
    random: Math.random(),
  });
  // Custom header values may be credentials for the receiver: the record keeps only their names.
  let recordedHeaders = headers;
  for (const name in runtime.headers) {
    if (recordedHeaders === headers) recordedHeaders = { ...headers };
    recordedHeaders[name] = MASKED;
  }
  return {
    outcome,
    step,
    attempt: {
      id: newId('attempt', startedAt.getTime()),
      orgId: delivery.orgId,
      deliveryId: delivery.id,
      endpointId: runtime.id,
      eventType: delivery.eventType,
      attemptNumber,
      trigger,
      startedAt,
      durationMs: Math.round(result.durationMs),
      succeeded: outcome.succeeded,
      requestHeaders: recordedHeaders,
      responseStatus: result.ok ? result.status : null,
      responseHeaders: result.ok ? result.headers : null,
      responseBody: result.ok ? result.body : null,
      errorClass: outcome.errorClass,
      errorMessage: outcome.errorMessage,
    },
  };
}

/**
 * A delivery whose event lost its payload to retention (a retry or replay that raced the purge):
 * nothing is sent; a failed attempt says why and the delivery is DEAD (retrying cannot help).
 */
function payloadPurged(runtime: EndpointRuntime, delivery: LoadedDelivery, trigger: AttemptRecord['trigger']): AttemptExecution {
  const outcome: AttemptOutcome = {
    succeeded: false,
    errorClass: null,
    errorMessage: `Not sent: the payload of event ${delivery.eventId} was purged after the payload retention period (WEBHOOKS_RETENTION_DAYS); it can no longer be delivered.`,
    retryAfterSeconds: null,
    disableEndpoint: false,
  };
  const startedAt = new Date();
  return {
    outcome,
    step: { status: 'DEAD', nextAttemptAtMs: null },
    attempt: {
      id: newId('attempt', startedAt.getTime()),
      orgId: delivery.orgId,
      deliveryId: delivery.id,
      endpointId: runtime.id,
      eventType: delivery.eventType,
      attemptNumber: delivery.attemptCount + 1,
      trigger,
      startedAt,
      durationMs: 0,
      succeeded: false,
      requestHeaders: {},
      responseStatus: null,
      responseHeaders: null,
      responseBody: null,
      errorClass: null,
      errorMessage: outcome.errorMessage,
    },
  };
}
