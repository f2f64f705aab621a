import { describe, expect, it } from 'vitest';
import { FLOOR_MARGIN_MS, FULL_WALK_EVERY_MS, NO_FLOOR, floorAfterLease, floorOfLease } from '../../server/engine/worker/pickFloor.js';

describe('where a lease starts walking an endpoint\'s due jobs', () => {
  it('walks the whole range until a full lease says where the backlog stands', () => {
    const first = floorOfLease(NO_FLOOR, 1_000);
    expect(first.startMs).toBeNull();
    expect(first.floor.fullWalkAtMs).toBe(1_000);
    const after = floorAfterLease(first.floor, { startMs: null, full: true, lastDueMs: 900 });
    expect(after).toEqual({ floor: { floorMs: 900 - FLOOR_MARGIN_MS, fullWalkAtMs: 1_000 }, walkAgain: false });
    expect(floorOfLease(after.floor, 1_050).startMs).toBe(900 - FLOOR_MARGIN_MS);
  });

  it('follows the backlog: each full lease moves the start to its last job less the margin', () => {
    let floor = floorAfterLease(floorOfLease(NO_FLOOR, 0).floor, { startMs: null, full: true, lastDueMs: 5_000 }).floor;
    const next = floorOfLease(floor, 100);
    floor = floorAfterLease(next.floor, { startMs: next.startMs, full: true, lastDueMs: 5_400 }).floor;
    expect(floor.floorMs).toBe(5_400 - FLOOR_MARGIN_MS);
    // A full walk that finds an older job (committed late) moves the start back to it.
    const walk = floorOfLease(floor, FULL_WALK_EVERY_MS);
    expect(walk.startMs).toBeNull();
    expect(floorAfterLease(walk.floor, { startMs: null, full: true, lastDueMs: 4_000 }).floor.floorMs).toBe(4_000 - FLOOR_MARGIN_MS);
  });

  it('walks the whole range again at least every FULL_WALK_EVERY_MS while leases start late', () => {
    const floor = { floorMs: 10_000, fullWalkAtMs: 20_000 };
    expect(floorOfLease(floor, 20_000 + FULL_WALK_EVERY_MS - 1).startMs).toBe(10_000);
    const due = floorOfLease(floor, 20_000 + FULL_WALK_EVERY_MS);
    expect(due.startMs).toBeNull();
    expect(due.floor).toEqual({ floorMs: 10_000, fullWalkAtMs: 20_000 + FULL_WALK_EVERY_MS });
  });

  it('after a short lease that started late, walks the whole range at once (a job may sit behind the start)', () => {
    const floor = { floorMs: 10_000, fullWalkAtMs: 20_000 };
    const short = floorAfterLease(floor, { startMs: 10_000, full: false, lastDueMs: 12_000 });
    expect(short).toEqual({ floor: { floorMs: null, fullWalkAtMs: 20_000 }, walkAgain: true });
    expect(floorOfLease(short.floor, 20_001).startMs).toBeNull();
    // That walk is short too: nothing more is due, the endpoint sleeps (no second walk).
    expect(floorAfterLease(short.floor, { startMs: null, full: false, lastDueMs: null })).toEqual({ floor: short.floor, walkAgain: false });
  });

  it('keeps an endpoint without a backlog on whole walks (no start, no second lease)', () => {
    let floor = NO_FLOOR;
    for (let t = 0; t < 5; t++) {
      const lease = floorOfLease(floor, t * 100);
      expect(lease.startMs).toBeNull();
      const after = floorAfterLease(lease.floor, { startMs: lease.startMs, full: false, lastDueMs: t * 100 });
      expect(after.walkAgain).toBe(false);
      floor = after.floor;
    }
  });

  it('keeps its start when a full lease reports no due time', () => {
    const floor = { floorMs: 7_000, fullWalkAtMs: 0 };
    expect(floorAfterLease(floor, { startMs: 7_000, full: true, lastDueMs: null })).toEqual({ floor, walkAgain: false });
  });
});
