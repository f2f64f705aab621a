import type { Database } from '../db/client.js';
import { createLiveRowsRepo } from '../db/repos/liveRows.js';
import type { AttemptRow, DeliveryRow, EndpointRow } from '../db/schema.js';

/** Endpoint rows in live attempt messages: read again in the background once this old... */
export const ENDPOINT_ROW_REFRESH_AFTER_MS = 1000;
/** ...and waited for once this old (an endpoint that had no attempts for a while). */
export const ENDPOINT_ROW_MAX_AGE_MS = 2000;
const MAX_RECENT_ENDPOINTS = 10_000;

/** Counts reads, for the live metrics and tests. */
export interface LiveRowsObserver {
  rowsLoaded?(rows: 'attempts' | 'endpoints'): void;
}

/**
 * The rows the live topics load for their messages, and the endpoint rows recently read for
 * them. The console's table shows each attempt's endpoint URL, and a query on a message's way to
 * the browser holds up every message behind it (the pubsub loads one batch at a time): under
 * load that query is the slowest step of the path. So attempt messages use the row already read
 * and, once it is ENDPOINT_ROW_REFRESH_AFTER_MS old, read it again in the background for the
 * messages after them: with attempts flowing, rows stay about a second old and no message waits.
 * A row past ENDPOINT_ROW_MAX_AGE_MS (or none) is waited for. Health changes, which are about the
 * row itself, always wait for a fresh read, and what they read serves attempts too.
 */
export function createLiveRowsService(deps: { database: Database; observer?: LiveRowsObserver }) {
  const repo = createLiveRowsRepo(deps.database.db);
  const observer = deps.observer;
  const recentEndpoints = new Map<string, { row: EndpointRow; readAtMs: number }>();
  const refreshing = new Set<string>();

  const readEndpoints = async (ids: string[]): Promise<EndpointRow[]> => {
    observer?.rowsLoaded?.('endpoints');
    const readAtMs = Date.now();
    const read = await repo.endpointsByIds(ids);
    if (recentEndpoints.size + read.length > MAX_RECENT_ENDPOINTS) recentEndpoints.clear();
    for (const row of read) {
      const recent = recentEndpoints.get(row.id);
      // A slower read that started earlier must not replace a newer row.
      if (!recent || recent.readAtMs <= readAtMs) recentEndpoints.set(row.id, { row, readAtMs });
    }
    return read;
  };

  const refreshInBackground = (ids: string[]): void => {
    const due = ids.filter((id) => !refreshing.has(id));
    if (due.length === 0) return;
    for (const id of due) refreshing.add(id);
    readEndpoints(due)
      // Harmless: the rows stay as they were, and the next message tries again.
      .catch(() => {})
      .finally(() => {
        for (const id of due) refreshing.delete(id);
      });
  };

  return {
    /** Stored attempts with their deliveries (`deliveryIds`: theirs, from the same notifications), by attempt id (any organization: callers check). */
    async attempts(ids: string[], deliveryIds: string[]): Promise<Map<string, { attempt: AttemptRow; delivery: DeliveryRow | null }>> {
      observer?.rowsLoaded?.('attempts');
      return new Map((await repo.attemptsByIds(ids, [...new Set(deliveryIds)])).map((r) => [r.attempt.id, r]));
    },

    /** Endpoint rows for attempt messages: what is known now, waiting only for rows too old or never read. */
    async endpointsForAttempts(ids: string[]): Promise<Map<string, EndpointRow>> {
      const nowMs = Date.now();
      const rows = new Map<string, EndpointRow>();
      const missing: string[] = [];
      const ageing: string[] = [];
      for (const id of new Set(ids)) {
        const recent = recentEndpoints.get(id);
        const age = recent ? nowMs - recent.readAtMs : Infinity;
        if (age > ENDPOINT_ROW_MAX_AGE_MS) missing.push(id);
        else {
          rows.set(id, recent!.row);
          if (age > ENDPOINT_ROW_REFRESH_AFTER_MS) ageing.push(id);
        }
      }
      refreshInBackground(ageing);
      if (missing.length) for (const row of await readEndpoints(missing)) rows.set(row.id, row);
      return rows;
    },

    /** Endpoint rows read now, for health changes. */
    async freshEndpoints(ids: string[]): Promise<Map<string, EndpointRow>> {
      return new Map((await readEndpoints([...new Set(ids)])).map((row) => [row.id, row]));
    },
  };
}
export type LiveRowsService = ReturnType<typeof createLiveRowsService>;
