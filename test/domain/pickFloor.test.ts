import { describe, expect, it } from 'vitest';
import { FLOOR_MARGIN_MS, FULL_WALK_EVERY_MS, NO_FLOOR, floorAfterLease, floorOfLease } from '../../server/engine/worker/pickFloor.js';

describe('where a lease starts walking an endpoint\'s due jobs', () => {
  it('walks the whole range first, then starts at the last picked job less the margin', () => {
    const first = floorOfLease(NO_FLOOR, 1_000);
    expect(first).toEqual({ startMs: null, floor: { floorMs: null, fullWalkAtMs: 1_000 } });
    const after = floorAfterLease(first.floor, 900);
    expect(after).toEqual({ floorMs: 900 - FLOOR_MARGIN_MS, fullWalkAtMs: 1_000 });
    expect(floorOfLease(after, 1_050)).toEqual({ startMs: 900 - FLOOR_MARGIN_MS, floor: after });
  });

  it('follows the jobs it leases, one or many: each lease moves the start to its last job less the margin', () => {
    let floor = floorAfterLease(floorOfLease(NO_FLOOR, 0).floor, 5_000);
    floor = floorAfterLease(floorOfLease(floor, 100).floor, 5_400);
    expect(floor.floorMs).toBe(5_400 - FLOOR_MARGIN_MS);
    // A whole walk that finds an older job (its publish committed late) moves the start back to it.
    const walk = floorOfLease(floor, FULL_WALK_EVERY_MS);
    expect(walk.startMs).toBeNull();
    expect(floorAfterLease(walk.floor, 4_000).floorMs).toBe(4_000 - FLOOR_MARGIN_MS);
  });

  it('keeps its start when a lease gets nothing', () => {
    const floor = { floorMs: 7_000, fullWalkAtMs: 0 };
    expect(floorAfterLease(floor, null)).toBe(floor);
  });

  it('walks the whole range again at least every FULL_WALK_EVERY_MS, then starts late again', () => {
    const floor = { floorMs: 10_000, fullWalkAtMs: 20_000 };
    expect(floorOfLease(floor, 20_000 + FULL_WALK_EVERY_MS - 1).startMs).toBe(10_000);
    const due = floorOfLease(floor, 20_000 + FULL_WALK_EVERY_MS);
    expect(due).toEqual({ startMs: null, floor: { floorMs: 10_000, fullWalkAtMs: 20_000 + FULL_WALK_EVERY_MS } });
    expect(floorOfLease(due.floor, 20_000 + FULL_WALK_EVERY_MS + 1).startMs).toBe(10_000);
  });
});
