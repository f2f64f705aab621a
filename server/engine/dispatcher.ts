import { newId } from '../crypto/random.js';
import { classifyOutcome, type AttemptOutcome } from '../domain/attemptOutcome.js';
import { envelopeBody, nextStep, type NextStep } from '../domain/deliveryPlan.js';
import type { AttemptRecord } from '../db/repos/attempts.js';
import type { EndpointRuntime } from './endpointRuntime.js';
import type { HttpSender } from './httpSender.js';

export const USER_AGENT = 'org-webhooks/0.1 (+https://www.standardwebhooks.com)';
const MASKED = '••••';

import type { LoadedDelivery } from '../db/repos/workerReads.js';

export type { LoadedDelivery } from '../db/repos/workerReads.js';

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
