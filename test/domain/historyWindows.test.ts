import { describe, expect, it } from 'vitest';
import { DAY_MS } from '../../server/domain/historyPartitions.js';
import { historyWindows, MAX_WINDOW_MS } from '../../server/domain/historyWindows.js';

const NOW = Date.parse('2026-12-10T12:00:00Z');
const FLOOR = NOW - 92 * DAY_MS;

describe('historyWindows', () => {
  it('reads back from now in doubling windows, then one last window below the floor', () => {
    const w = historyWindows({ sinceMs: null, untilMs: null, nowMs: NOW, floorMs: FLOOR });
    expect(w[0]).toEqual({ fromMs: NOW - DAY_MS, toMs: null });
    expect(w[1]).toEqual({ fromMs: NOW - 3 * DAY_MS, toMs: NOW - DAY_MS });
    expect(w[2]).toEqual({ fromMs: NOW - 7 * DAY_MS, toMs: NOW - 3 * DAY_MS });
    expect(w.at(-1)).toMatchObject({ fromMs: null });
    // Contiguous, newest first, never wider than the cap.
    for (let i = 1; i < w.length; i++) expect(w[i]!.toMs).toBe(w[i - 1]!.fromMs);
    for (const x of w.slice(1, -1)) expect(x.toMs! - x.fromMs!).toBeLessThanOrEqual(MAX_WINDOW_MS);
    expect(w.length).toBeLessThanOrEqual(12);
    expect(w.at(-2)!.fromMs!).toBeGreaterThan(FLOOR);
  });

  it('stops at `since`', () => {
    expect(historyWindows({ sinceMs: NOW - 2 * DAY_MS, untilMs: null, nowMs: NOW, floorMs: FLOOR })).toEqual([
      { fromMs: NOW - DAY_MS, toMs: null },
      { fromMs: NOW - 2 * DAY_MS, toMs: NOW - DAY_MS },
    ]);
    expect(historyWindows({ sinceMs: NOW - 3_600_000, untilMs: null, nowMs: NOW, floorMs: FLOOR })).toEqual([{ fromMs: NOW - 3_600_000, toMs: null }]);
  });

  it('starts below `until` (a cursor or a filter)', () => {
    const until = NOW - 40 * DAY_MS;
    const w = historyWindows({ sinceMs: null, untilMs: until, nowMs: NOW, floorMs: FLOOR });
    expect(w[0]).toEqual({ fromMs: until - DAY_MS, toMs: until });
  });

  it('reads a window entirely below the floor in one statement', () => {
    expect(historyWindows({ sinceMs: null, untilMs: FLOOR - DAY_MS, nowMs: NOW, floorMs: FLOOR })).toEqual([{ fromMs: null, toMs: FLOOR - DAY_MS }]);
    expect(historyWindows({ sinceMs: FLOOR - 10 * DAY_MS, untilMs: FLOOR - DAY_MS, nowMs: NOW, floorMs: FLOOR })).toEqual([
      { fromMs: FLOOR - 10 * DAY_MS, toMs: FLOOR - DAY_MS },
    ]);
  });

  it('has nothing to read for an empty range', () => {
    expect(historyWindows({ sinceMs: NOW, untilMs: NOW, nowMs: NOW, floorMs: FLOOR })).toEqual([]);
  });

  it('covers `since` in the future up to now', () => {
    const w = historyWindows({ sinceMs: NOW + DAY_MS, untilMs: null, nowMs: NOW, floorMs: FLOOR });
    expect(w).toEqual([{ fromMs: NOW + DAY_MS, toMs: null }]);
  });
});
