import type { Sql } from 'postgres';
import { DAY_MS, type PartitionRange } from '../domain/historyPartitions.js';
import { idLowerBound } from '../domain/ids.js';
import { createHistoryPartitionsRepo } from '../db/repos/historyPartitions.js';
import { createHistoryStateRepo } from '../db/repos/historyState.js';

const BATCH = 5000;

/** [fromMs, toMs) of one statement's id range; null is unbounded. */
interface Window {
  fromMs: number | null;
  toMs: number;
}

/**
 * The windows below `cutoffMs`, one per partition (so each statement plans one partition), plus
 * one below the oldest partition: the DEFAULT partition's carried-over rows.
 */
function windowsBelow(partitions: PartitionRange[], cutoffMs: number, fromMs: number | null): Window[] {
  const windows: Window[] = [];
  const oldest = partitions[0];
  if (oldest && oldest.fromMs !== null && (fromMs === null || fromMs < oldest.fromMs)) windows.push({ fromMs, toMs: Math.min(oldest.fromMs, cutoffMs) });
  for (const p of partitions) {
    const lo = Math.max(p.fromMs ?? -Infinity, fromMs ?? -Infinity);
    const hi = Math.min(p.toMs ?? Infinity, cutoffMs);
    if (lo < hi) windows.push({ fromMs: Number.isFinite(lo) ? lo : null, toMs: hi });
  }
  return windows;
}

function idRange(kind: 'event' | 'attempt' | 'delivery', w: { fromMs: number | null; toMs: number }): { lo: string; hi: string } {
  return { lo: w.fromMs === null ? '' : idLowerBound(kind, w.fromMs), hi: idLowerBound(kind, w.toMs) };
}

/**
 * Purges payloads past the retention period: event data, stored response bodies and transformed
 * request bodies. Events with a delivery still pending keep their payload until it is delivered
 * or dead. Rows stay (ids,
 * types, statuses, timings) so history and statistics survive the purge, until history
 * retention drops their partition. Each statement names the id range of one partition, in
 * batches so a large backlog never holds long locks.
 *
 * Events: every partition below the cutoff is looked at each run, through the partial index of
 * events that still carry a payload (only those kept for pending deliveries, once a day is done).
 * Response and transformed request bodies are purged whatever the delivery's state, so runs resume where the last one
 * finished (history_state.bodies_purged_until_ms) instead of reading old days again.
 */
export async function purgePayloads(sql: Sql, retentionDays: number, nowMs = Date.now()): Promise<{ events: number; attempts: number }> {
  const cutoffMs = nowMs - retentionDays * DAY_MS;
  const partitions = createHistoryPartitionsRepo(sql);
  const state = createHistoryStateRepo(sql);
  let events = 0;
  let attempts = 0;

  for (const w of windowsBelow((await partitions.list('events')).partitions, cutoffMs, null)) {
    const e = idRange('event', w);
    // A delivery's id carries its event's time (older ones a few ms later): its partition is the event's or the next day's.
    const d = idRange('delivery', { fromMs: w.fromMs, toMs: w.toMs + DAY_MS });
    for (;;) {
      const result = await sql`
        UPDATE events SET data = NULL, payload_purged_at = now()
        WHERE id >= ${e.lo} AND id < ${e.hi} AND id IN (
          SELECT x.id FROM events x
          WHERE x.id >= ${e.lo} AND x.id < ${e.hi} AND x.data IS NOT NULL
            AND NOT EXISTS (
              SELECT 1 FROM deliveries p
              WHERE p.event_id = x.id AND p.status = 'PENDING' AND p.id >= ${d.lo} AND p.id < ${d.hi})
          LIMIT ${BATCH})`;
      events += result.count;
      if (result.count < BATCH) break;
    }
  }

  const { bodiesPurgedUntilMs } = await state.read();
  for (const w of windowsBelow((await partitions.list('delivery_attempts')).partitions, cutoffMs, bodiesPurgedUntilMs)) {
    const a = idRange('attempt', w);
    for (;;) {
      const result = await sql`
        UPDATE delivery_attempts SET response_body = NULL, request_body = NULL
        WHERE id >= ${a.lo} AND id < ${a.hi} AND id IN (
          SELECT id FROM delivery_attempts
          WHERE id >= ${a.lo} AND id < ${a.hi} AND (response_body IS NOT NULL OR request_body IS NOT NULL) LIMIT ${BATCH})`;
      attempts += result.count;
      if (result.count < BATCH) break;
    }
  }
  if (bodiesPurgedUntilMs === null || cutoffMs > bodiesPurgedUntilMs) await state.setBodiesPurgedUntil(cutoffMs);
  return { events, attempts };
}
