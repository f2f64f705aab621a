import { DAY_MS } from './historyPartitions.js';

/** A slice of time, [fromMs, toMs); null is unbounded on that side. */
export interface TimeWindow {
  fromMs: number | null;
  toMs: number | null;
}

/** The first window of a list covers this much before its top; each next one twice the last... */
export const FIRST_WINDOW_MS = DAY_MS;
/** ...up to this width, so no statement plans more than ~17 day partitions. */
export const MAX_WINDOW_MS = 16 * DAY_MS;

/**
 * The time windows a newest-first list reads, newest first: a list query names a time range of
 * its table's id, so Postgres plans only the day partitions of that range (a statement over every
 * partition would lock each one and its indexes, see docs/operations.md). The first window is one
 * day below `untilMs` (or now), each next one twice as wide (at most MAX_WINDOW_MS), down to
 * `sinceMs`. Below `floorMs` (where retention has dropped the day partitions) one last window,
 * unbounded below unless `sinceMs` bounds it, reads what is left there: the DEFAULT partition's
 * carried-over rows and partitions retention has not dropped yet.
 *
 * The caller stops as soon as it has a page; an empty or sparse filter reads every window
 * (about a dozen statements over 90 days).
 */
export function historyWindows(args: { sinceMs: number | null; untilMs: number | null; nowMs: number; floorMs: number }): TimeWindow[] {
  const { sinceMs, untilMs, floorMs } = args;
  if (sinceMs !== null && untilMs !== null && sinceMs >= untilMs) return [];
  const windows: TimeWindow[] = [];
  let top: number | null = untilMs;
  let width = FIRST_WINDOW_MS;
  // A window's top is a row time at most; with no `until`, rows newer than now (clock skew between
  // processes) belong to the first window too.
  let from = (untilMs ?? Math.max(args.nowMs, sinceMs ?? -Infinity)) - width;
  for (;;) {
    if (sinceMs !== null && from <= sinceMs) {
      windows.push({ fromMs: sinceMs, toMs: top });
      return windows;
    }
    if (from <= floorMs) {
      windows.push({ fromMs: sinceMs, toMs: top });
      return windows;
    }
    windows.push({ fromMs: from, toMs: top });
    top = from;
    width = Math.min(width * 2, MAX_WINDOW_MS);
    from = top - width;
  }
}
