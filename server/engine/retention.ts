import type { Sql } from 'postgres';
import { idLowerBound } from '../domain/ids.js';

const BATCH = 5000;

/**
 * Purges payloads past the retention period: event data, stored response bodies and transformed
 * request bodies. Events with
 * a delivery still pending keep their payload until it is delivered or dead. Rows stay (ids,
 * types, statuses, timings) so history and statistics survive the purge. Works in batches so a
 * large backlog never holds long locks.
 */
export async function purgePayloads(sql: Sql, retentionDays: number, nowMs = Date.now()): Promise<{ events: number; attempts: number }> {
  const cutoffMs = nowMs - retentionDays * 86_400_000;
  // Ids are time-ordered, so "older than the cutoff" is an id range served by the primary keys.
  const eventBound = idLowerBound('event', cutoffMs);
  const attemptBound = idLowerBound('attempt', cutoffMs);
  let events = 0;
  let attempts = 0;
  for (;;) {
    const result = await sql`
      UPDATE events SET data = NULL, payload_purged_at = now()
      WHERE id IN (
        SELECT e.id FROM events e
        WHERE e.id < ${eventBound} AND e.data IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = e.id AND d.status = 'PENDING')
        LIMIT ${BATCH})`;
    events += result.count;
    if (result.count < BATCH) break;
  }
  for (;;) {
    const result = await sql`
      UPDATE delivery_attempts SET response_body = NULL, request_body = NULL
      WHERE id IN (SELECT id FROM delivery_attempts WHERE id < ${attemptBound} AND (response_body IS NOT NULL OR request_body IS NOT NULL) LIMIT ${BATCH})`;
    attempts += result.count;
    if (result.count < BATCH) break;
  }
  return { events, attempts };
}
