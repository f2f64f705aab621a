import type { Sql } from 'postgres';
import { notFound } from '../domain/errors.js';
import { newId } from '../crypto/random.js';
import { insertAttempts, updateDeliveries, type AttemptRecord } from '../db/repos/attempts.js';
import { CHANNELS, notifyJson, summarizeAttempt } from '../db/notifications.js';
import type { RuntimeLoader } from './endpointRuntime.js';
import type { HttpSender } from './httpSender.js';
import { executeAttempt } from './dispatcher.js';

/**
 * `sendTestEvent`: a `webhook.test` event sent to one endpoint right away, in the caller's
 * request, regardless of its EventSubscriptions, its breaker and whether it is paused. It is
 * stored like any delivery (flagged as a test) so it shows in history and live streams.
 */
export function createTestSender(deps: { sql: Sql; loadRuntimes: RuntimeLoader; sender: HttpSender }) {
  const { sql } = deps;

  return async function sendTestEvent(orgId: string, endpointId: string, sentBy: string): Promise<AttemptRecord> {
    const runtime = (await deps.loadRuntimes([endpointId])).get(endpointId);
    if (!runtime || runtime.orgId !== orgId || runtime.deleted) throw notFound('endpoint', endpointId);
    const createdAt = new Date();
    // The delivery's id carries its event's time, as publishing's do (same day partition).
    const eventId = newId('event', createdAt.getTime());
    const deliveryId = newId('delivery', createdAt.getTime());
    const data = {
      message: 'This is a test event. If you can read this, the endpoint receives and can verify webhooks.',
      endpointId,
      sentBy,
    };
    await sql.begin(async (tx) => {
      await tx`INSERT INTO events (id, org_id, type, data, created_at)
               VALUES (${eventId}, ${orgId}, 'webhook.test', ${tx.json(data)}, ${createdAt})`;
      await tx`INSERT INTO deliveries (id, org_id, event_id, endpoint_id, event_type, is_test, created_at)
               VALUES (${deliveryId}, ${orgId}, ${eventId}, ${endpointId}, 'webhook.test', true, ${createdAt})`;
    });
    const { attempt, outcome } = await executeAttempt(
      deps.sender,
      runtime,
      {
        id: deliveryId,
        orgId,
        eventId,
        eventType: 'webhook.test',
        eventCreatedAt: createdAt,
        dataJson: JSON.stringify(data),
        attemptCount: 0,
        orderingKey: null,
        seq: 0,
        status: 'PENDING',
      },
      'TEST',
      { singleAttempt: true },
    );
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
