import { DAY_MS, DROP_LAG_DAYS } from '../../domain/historyPartitions.js';
import { historyWindows } from '../../domain/historyWindows.js';
import { idLowerBound, idTimeMs, type IdKind } from '../../domain/ids.js';

/** What reads of the partitioned history need to know about it. */
export interface HistoryReadOptions {
  /** WEBHOOKS_HISTORY_RETENTION_DAYS: below it only the DEFAULT partition (and late drops) hold rows. */
  historyRetentionDays: number;
  now?: () => number;
}

export const DEFAULT_HISTORY_READS: HistoryReadOptions = { historyRetentionDays: 90 };

/** An id range, [from, to); null is unbounded. */
export interface IdRange {
  from: string | null;
  to: string | null;
}

/**
 * Reads a newest-first list of `kind` rows window by window (domain/historyWindows.ts), each
 * statement naming its id range so Postgres plans only that range's day partitions, until
 * `limit` rows are in. `fetch` runs one statement for a range (with the caller's own filter,
 * keyset cursor and order) and returns at most `limit` rows.
 */
export async function readNewestFirst<T>(
  args: { kind: IdKind; since: Date | null | undefined; until: Date | null | undefined; after: string | null | undefined; limit: number; options: HistoryReadOptions },
  fetch: (range: IdRange, limit: number) => Promise<T[]>,
): Promise<T[]> {
  const { kind, options } = args;
  const nowMs = (options.now ?? Date.now)();
  // A cursor is the last row's id: nothing after the page starts above its time.
  const afterMs = args.after ? idTimeMs(args.after) : null;
  const untilMs = minOrNull(args.until?.getTime() ?? null, afterMs === null ? null : afterMs + 1);
  const floorMs = nowMs - (options.historyRetentionDays + DROP_LAG_DAYS.events + 1) * DAY_MS;
  const rows: T[] = [];
  for (const w of historyWindows({ sinceMs: args.since?.getTime() ?? null, untilMs, nowMs, floorMs })) {
    const range = { from: w.fromMs === null ? null : idLowerBound(kind, w.fromMs), to: w.toMs === null ? null : idLowerBound(kind, w.toMs) };
    rows.push(...(await fetch(range, args.limit - rows.length)));
    if (rows.length >= args.limit) break;
  }
  return rows;
}

/**
 * The id range holding rows of `kind` made from the earliest to the latest of `times` (plus
 * `slackMs` after it): a statement about rows known to belong to other rows (a delivery's
 * attempts, an event's deliveries) names it so only those days' partitions are planned.
 */
export function idRangeOf(kind: IdKind, times: number[], slackMs: number): IdRange | null {
  if (times.length === 0) return null;
  return { from: idLowerBound(kind, Math.min(...times)), to: idLowerBound(kind, Math.max(...times) + slackMs + 1) };
}

function minOrNull(a: number | null, b: number | null): number | null {
  if (a === null) return b;
  if (b === null) return a;
  return Math.min(a, b);
}
