import type { Sql } from 'postgres';
import { badInput, notFound } from '../domain/errors.js';
import { newId } from '../crypto/random.js';
import { insertAttempts, updateDeliveries, type AttemptRecord } from '../db/repos/attempts.js';
import { CHANNELS, notifyJson, summarizeAttempt } from '../db/notifications.js';
import type { RuntimeLoader } from './endpointRuntime.js';
import type { HttpSender } from './httpSender.js';
import { executeAttempt } from './dispatcher.js';

/** What a test send carries: a catalog type and its payload (validated by the caller), or the default `webhook.test`. */
export interface TestEventContent {
  type: string;
  data: Record<string, unknown>;
}

/**
 * `sendTestEvent`: one event sent to one endpoint right away, in the caller's request, regardless
 * of its EventSubscriptions, its breaker and whether it is paused. It is stored like any delivery
 * (flagged as a test) so it shows in history and live streams. The body is built from the stored
 * payload's jsonb text, as the dispatcher builds every delivery's, so the request shown later is
 * byte for byte the one sent.
 */
export function createTestSender(deps: { sql: Sql; loadRuntimes: RuntimeLoader; sender: HttpSender }) {
  const { sql } = deps;

  return async function sendTestEvent(orgId: string, endpointId: string, sentBy: string, content?: TestEventContent): Promise<AttemptRecord> {
    const runtime = (await deps.loadRuntimes([endpointId])).get(endpointId);
    if (!runtime || runtime.orgId !== orgId || runtime.deleted) throw notFound('endpoint', endpointId);
    const createdAt = new Date();
    // The delivery's id carries its event's time, as publishing's do (same day partition).
    const eventId = newId('event', createdAt.getTime());
    const deliveryId = newId('delivery', createdAt.getTime());
    const type = content?.type ?? 'webhook.test';
    const data = content?.data ?? {
      message: 'This is a test event. If you can read this, the endpoint receives and can verify webhooks.',
      endpointId,
      sentBy,
    };
    const dataJson = await sql.begin(async (tx) => {
      const [event] = await tx<{ data_json: string }[]>`
        INSERT INTO events (id, org_id, type, data, created_at)
        VALUES (${eventId}, ${orgId}, ${type}, ${tx.json(data as never)}, ${createdAt})
        RETURNING data::text AS data_json`;
      await tx`INSERT INTO deliveries (id, org_id, event_id, endpoint_id, event_type, is_test, created_at)
               VALUES (${deliveryId}, ${orgId}, ${eventId}, ${endpointId}, ${type}, true, ${createdAt})`;
      return event!.data_json;
    });
    const execution = await executeAttempt(
      deps.sender,
      runtime,
      {
        id: deliveryId,
        orgId,
        eventId,
        eventType: type,
        eventCreatedAt: createdAt,
        dataJson,
        attemptCount: 0,
        orderingKey: null,
        seq: 0,
        status: 'PENDING',
      },
      'TEST',
      { singleAttempt: true },
    );
    if ('cancelled' in execution) {
      await sql`UPDATE deliveries SET status = 'CANCELLED', completed_at = now() WHERE id = ${deliveryId}`;
      throw badInput(
        "The endpoint's transformation cancelled this webhook.test event (it returned cancel: true), so nothing was sent. Let webhook.test events through to test the endpoint.",
        'transformation',
      );
    }
    const { attempt, outcome } = execution;
    const status = outcome.succeeded ? 'SUCCEEDED' : 'DEAD';
    await sql.begin(async (tx) => {
      await insertAttempts(tx, [attempt]);
      await updateDeliveries(tx, [
        {
          id: deliveryId,
          status,
          attemptCount: 1,
          nextAttemptAt: null,
          lastAttemptAt: attempt.startedAt,
          lastAttemptId: attempt.id,
          completedAt: new Date(),
        },
      ]);
      const summary = summarizeAttempt(attempt, { eventId, status }, Date.now());
      await notifyJson(tx, CHANNELS.attempts, [summary]);
    });
    return attempt;
  };
}
