import { newId } from '../crypto/random.js';
import { classifyOutcome, type AttemptOutcome } from '../domain/attemptOutcome.js';
import { envelopeBody, nextStep, type NextStep } from '../domain/deliveryPlan.js';
import type { AttemptRecord } from '../db/repos/attempts.js';
import type { FinishedJob } from '../db/repos/deliveryJobs.js';
import type { EndpointRuntime } from './endpointRuntime.js';
import type { HttpSender } from './httpSender.js';
import type { LoadedDelivery } from '../db/repos/workerReads.js';
import type { RecordEntry } from './recorder.js';
import { applyTransformation } from './transform/apply.js';
import { CONTEXT_ONLY, type Tracing } from './tracing.js';

export type { LoadedDelivery } from '../db/repos/workerReads.js';

export const USER_AGENT = 'org-webhooks/0.1 (+https://www.standardwebhooks.com)';
const MASKED = '••••';

/**
 * The payload text of an event whose payload retention purged it (events.data is NULL; published
 * payloads are always JSON objects, so `null` never comes from a publisher).
 */
export const PURGED_PAYLOAD_JSON = 'null';

export interface AttemptExecution {
  attempt: AttemptRecord;
  outcome: AttemptOutcome;
  step: NextStep;
}

/** The endpoint's transformation returned `cancel: true`: nothing is sent, nothing is attempted. */
export interface CancelledExecution {
  cancelled: true;
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
  options: { singleAttempt?: boolean; tracing?: Tracing } = {},
): Promise<AttemptExecution | CancelledExecution> {
  if (delivery.dataJson === PURGED_PAYLOAD_JSON) return payloadPurged(runtime, delivery, trigger);
  let body = envelopeBody({
    id: delivery.eventId,
    type: delivery.eventType,
    timestamp: delivery.eventCreatedAt.toISOString(),
    dataJson: delivery.dataJson,
  });
  const startedAt = new Date();
  // The transformation runs before signing, so the signature covers what is sent.
  let customHeaders = runtime.headers;
  let transformedBody: string | null = null;
  if (runtime.transform) {
    const transformed = await applyTransformation(runtime, delivery);
    if (transformed.kind === 'cancel') return { cancelled: true };
    if (transformed.kind === 'error') return transformationFailure(runtime, delivery, trigger, startedAt, transformed.message, transformed.durationMs, options);
    body = transformed.body;
    customHeaders = transformed.headers;
    transformedBody = transformed.bodyChanged ? body : null;
  }
  const timestamp = Math.floor(startedAt.getTime() / 1000);
  const attemptNumber = delivery.attemptCount + 1;
  const tracing = options.tracing ?? CONTEXT_ONLY;
  const span =
    delivery.traceparent || tracing.exporting
      ? tracing.startAttempt(delivery.traceparent ?? null, {
          deliveryId: delivery.id,
          eventId: delivery.eventId,
          eventType: delivery.eventType,
          endpointId: runtime.id,
          attemptNumber,
          trigger,
          url: runtime.url.split('?')[0]!,
          startedAt,
        })
      : null;
  const headers: Record<string, string> = {
    ...customHeaders,
    'content-type': 'application/json',
    'user-agent': USER_AGENT,
    'webhook-id': delivery.eventId,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': runtime.signer(delivery.eventId, timestamp, body),
  };
  if (span) headers.traceparent = span.traceparent;
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
  span?.end({ succeeded: outcome.succeeded, status: result.ok ? result.status : null, errorClass: outcome.errorClass, durationMs: result.durationMs });
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
  for (const name in customHeaders) {
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
      requestBody: transformedBody,
    },
  };
}

/** The attempt of a delivery whose transformation failed: nothing sent, not retried (see nextStep). */
function transformationFailure(
  runtime: EndpointRuntime,
  delivery: LoadedDelivery,
  trigger: AttemptRecord['trigger'],
  startedAt: Date,
  message: string,
  durationMs: number,
  options: { singleAttempt?: boolean },
): AttemptExecution {
  const outcome: AttemptOutcome = {
    succeeded: false,
    errorClass: 'TRANSFORMATION',
    errorMessage: `The endpoint's transformation failed: ${message} Nothing was sent.`,
    retryAfterSeconds: null,
    disableEndpoint: false,
  };
  const attemptNumber = delivery.attemptCount + 1;
  const nowMs = Date.now();
  return {
    outcome,
    step: nextStep({ outcome, attemptsMade: attemptNumber, policy: runtime.retryPolicy, singleAttempt: options.singleAttempt ?? false, nowMs, random: Math.random() }),
    attempt: {
      id: newId('attempt', startedAt.getTime()),
      orgId: delivery.orgId,
      deliveryId: delivery.id,
      endpointId: runtime.id,
      eventType: delivery.eventType,
      attemptNumber,
      trigger,
      startedAt,
      durationMs: Math.round(durationMs),
      succeeded: false,
      requestHeaders: {},
      responseStatus: null,
      responseHeaders: null,
      responseBody: null,
      errorClass: outcome.errorClass,
      errorMessage: outcome.errorMessage,
      requestBody: null,
    },
  };
}

/**
 * What the worker records for a delivery its transformation cancelled: the delivery is CANCELLED
 * (no attempt: nothing was tried), its job is done, and under STRICT ordering its key moves on.
 */
export function cancelledEntry(runtime: EndpointRuntime, job: FinishedJob & { shard: number }, delivery: LoadedDelivery): RecordEntry {
  return {
    delivery: {
      id: delivery.id,
      status: 'CANCELLED',
      attemptCount: delivery.attemptCount,
      nextAttemptAt: null,
      lastAttemptAt: null,
      lastAttemptId: null,
      completedAt: new Date(),
    },
    removeJob: job,
    strictKey: delivery.orderingKey !== null && runtime.orderingMode === 'STRICT' ? { endpointId: runtime.id, orderingKey: delivery.orderingKey } : undefined,
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
      requestBody: null,
    },
  };
}
