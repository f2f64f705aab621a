import { idLowerBound, type IdKind } from './ids.js';

/**
 * The time-partitioned history: `events`, `deliveries` and `delivery_attempts` are partitioned by
 * RANGE (id), the ids being time-ordered (see ids.ts), one partition per UTC day, plus a DEFAULT
 * partition that catches rows no day partition covers and holds the few rows carried over when
 * their day is dropped (deliveries still pending, with their events and attempts).
 *
 * This module is the pure part: which day partitions to create, which to drop, and the id bounds
 * of a time range. The database side lives in db/repos/historyPartitions.ts.
 */
export const HISTORY_TABLES = ['events', 'deliveries', 'delivery_attempts'] as const;
export type HistoryTable = (typeof HISTORY_TABLES)[number];

/** The id kind whose ids key each history table. */
export const HISTORY_ID_KIND: Record<HistoryTable, IdKind> = { events: 'event', deliveries: 'delivery', delivery_attempts: 'attempt' };

export const DAY_MS = 86_400_000;

/**
 * Days a table's partitions outlive the retention horizon. A delivery's id carries its event's
 * time (publishing makes them so), but deliveries written by older versions were made a few
 * milliseconds after their event, sometimes across midnight: keeping events one day longer means
 * a delivery never outlives its event.
 */
export const DROP_LAG_DAYS: Record<HistoryTable, number> = { events: 1, deliveries: 0, delivery_attempts: 0 };

/** Days of partitions kept ready ahead of today. */
export const PARTITIONS_AHEAD_DAYS = 3;

/** A partition's range of id times, [fromMs, toMs); null is MINVALUE / MAXVALUE. */
export interface PartitionRange {
  name: string;
  fromMs: number | null;
  toMs: number | null;
}

export interface PartitionPlan {
  /** Missing ranges, oldest first, each within one UTC day. */
  create: PartitionRange[];
  /** Partitions whose every row is past the retention horizon, oldest first. */
  drop: PartitionRange[];
}

/** Start (UTC midnight) of the day holding `ms`. */
export function utcDayStart(ms: number): number {
  return Math.floor(ms / DAY_MS) * DAY_MS;
}

/** Name of the partition starting at `fromMs`: `deliveries_p20261203`, or `..._p20261203_153012345` when not at midnight. */
export function partitionName(table: HistoryTable, fromMs: number): string {
  const day = new Date(utcDayStart(fromMs)).toISOString().slice(0, 10).replaceAll('-', '');
  const intoDay = fromMs - utcDayStart(fromMs);
  if (intoDay === 0) return `${table}_p${day}`;
  const t = new Date(fromMs).toISOString();
  return `${table}_p${day}_${t.slice(11, 13)}${t.slice(14, 16)}${t.slice(17, 19)}${t.slice(20, 23)}`;
}

/** The DEFAULT partition of `table`. */
export function defaultPartitionName(table: HistoryTable): string {
  return `${table}_default`;
}

/** The `FOR VALUES` bounds of a range of `table` as id strings (null: MINVALUE / MAXVALUE). */
export function partitionBounds(table: HistoryTable, range: Pick<PartitionRange, 'fromMs' | 'toMs'>): { from: string | null; to: string | null } {
  const kind = HISTORY_ID_KIND[table];
  return {
    from: range.fromMs === null ? null : idLowerBound(kind, range.fromMs),
    to: range.toMs === null ? null : idLowerBound(kind, range.toMs),
  };
}

/** Time before which rows of finished deliveries are removed (the retention horizon). */
export function retentionHorizonMs(nowMs: number, retentionDays: number): number {
  return nowMs - retentionDays * DAY_MS;
}

/**
 * What `table` needs now: the day partitions from the end of the newest one (gaps left by a
 * service that was down are filled) or today, whichever is later but never before the horizon,
 * through `aheadDays` days after today; and the partitions that ended `DROP_LAG_DAYS` or more
 * before the retention horizon. `existing` excludes the DEFAULT partition.
 */
export function planPartitions(input: {
  table: HistoryTable;
  nowMs: number;
  existing: PartitionRange[];
  retentionDays: number;
  aheadDays?: number;
}): PartitionPlan {
  const { table, nowMs, existing, retentionDays } = input;
  const aheadDays = input.aheadDays ?? PARTITIONS_AHEAD_DAYS;
  const horizonMs = retentionHorizonMs(nowMs, retentionDays);
  const sorted = [...existing].sort((a, b) => (a.fromMs ?? -Infinity) - (b.fromMs ?? -Infinity));

  const drop = sorted.filter((p) => p.toMs !== null && p.toMs + DROP_LAG_DAYS[table] * DAY_MS <= horizonMs);

  const today = utcDayStart(nowMs);
  const newestEnd = sorted.reduce<number | null>((end, p) => (p.toMs === null ? end : Math.max(end ?? -Infinity, p.toMs)), null);
  // A gap since the newest partition is filled (rows the DEFAULT partition took meanwhile move
  // into it), but nothing older than what retention would drop at once.
  let start = newestEnd !== null && newestEnd < today ? Math.max(newestEnd, utcDayStart(horizonMs) + DAY_MS) : today;
  if (start > today) start = today;
  const end = today + (aheadDays + 1) * DAY_MS;
  const create: PartitionRange[] = [];
  for (let day = utcDayStart(start); day < end; day += DAY_MS) {
    for (const piece of uncovered(Math.max(day, start), day + DAY_MS, sorted)) {
      create.push({ name: partitionName(table, piece.fromMs), fromMs: piece.fromMs, toMs: piece.toMs });
    }
  }
  return { create, drop };
}

/** Parts of [fromMs, toMs) that no range in `ranges` covers. */
function uncovered(fromMs: number, toMs: number, ranges: PartitionRange[]): { fromMs: number; toMs: number }[] {
  let pieces = [{ fromMs, toMs }];
  for (const r of ranges) {
    const rFrom = r.fromMs ?? -Infinity;
    const rTo = r.toMs ?? Infinity;
    pieces = pieces.flatMap((p) => {
      if (rTo <= p.fromMs || rFrom >= p.toMs) return [p];
      const left = rFrom > p.fromMs ? [{ fromMs: p.fromMs, toMs: rFrom }] : [];
      const right = rTo < p.toMs ? [{ fromMs: rTo, toMs: p.toMs }] : [];
      return [...left, ...right];
    });
  }
  return pieces;
}
