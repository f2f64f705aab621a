/**
 * Time windows offered by the console (deliveries filter, charts): presets relative to now, or a
 * custom from/to. Pure: `now` is passed in. Custom bounds are <input type="datetime-local"> values.
 */

export type RangePreset = '1h' | '24h' | '7d';
export type RangeKey = RangePreset | 'custom';

export const RANGE_PRESETS: { key: RangePreset; label: string; short: string; ms: number }[] = [
  { key: '1h', label: 'Last hour', short: '1 h', ms: 3_600_000 },
  { key: '24h', label: 'Last 24 hours', short: '24 h', ms: 86_400_000 },
  { key: '7d', label: 'Last 7 days', short: '7 d', ms: 7 * 86_400_000 },
];

export function isRangePreset(value: string | null | undefined): value is RangePreset {
  return RANGE_PRESETS.some((p) => p.key === value);
}

/** Parses a datetime-local value ("2026-12-01T10:30") in the browser's zone; null when empty or invalid. */
export function parseLocal(value: string | null | undefined): number | null {
  if (!value) return null;
  const t = new Date(value).getTime();
  return Number.isNaN(t) ? null : t;
}

export type ResolvedRange =
  | { ok: true; sinceMs: number | null; untilMs: number | null }
  | { ok: false; field: 'since' | 'until'; message: string };

/**
 * The window of a preset (ending now) or of custom bounds (either may be open). A reversed or
 * empty custom window is refused with a message for the "to" field, in the console's words.
 */
export function resolveRange(key: RangeKey | null, custom: { since?: string | null; until?: string | null }, nowMs: number): ResolvedRange {
  const preset = RANGE_PRESETS.find((p) => p.key === key);
  if (preset) return { ok: true, sinceMs: nowMs - preset.ms, untilMs: null };
  if (custom.since && parseLocal(custom.since) === null) return { ok: false, field: 'since', message: 'Enter a valid date and time.' };
  if (custom.until && parseLocal(custom.until) === null) return { ok: false, field: 'until', message: 'Enter a valid date and time.' };
  const sinceMs = parseLocal(custom.since);
  const untilMs = parseLocal(custom.until);
  if (sinceMs !== null && untilMs !== null && sinceMs >= untilMs) {
    return { ok: false, field: 'until', message: '“To” must be later than “From”. Swap the two dates, or pick a preset.' };
  }
  return { ok: true, sinceMs, untilMs };
}

/** Bucket sizes (seconds) charts choose from: round numbers a reader can follow. */
const BUCKETS = [10, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10_800, 21_600, 43_200, 86_400];

/** The smallest round bucket giving at most `maxBuckets` buckets over `spanMs` (charts aim for ~60 bars). */
export function bucketFor(spanMs: number, maxBuckets = 72): number {
  const wanted = spanMs / 1000 / maxBuckets;
  return BUCKETS.find((b) => b >= wanted) ?? BUCKETS[BUCKETS.length - 1]!;
}
