import { describe, expect, it } from 'vitest';
import { FLOOR_MARGIN_MS, FULL_WALK_EVERY_MS, NO_FLOOR, earlierDue, floorAfterLease, floorOfLease, floorOfWake, type PickFloor } from '../../server/engine/worker/pickFloor.js';

const at = (floorMs: number | null, fullWalkAtMs = 0): PickFloor => ({ floorMs, fullWalkAtMs, announcedMs: undefined });

describe('where a lease starts walking an endpoint\'s due jobs', () => {
  it('walks the whole range first, then starts at the last picked job less the margin', () => {
    const first = floorOfLease(NO_FLOOR, 1_000);
    expect(first).toEqual({ startMs: null, floor: at(null, 1_000) });
    const after = floorAfterLease(first.floor, 900);
    expect(after).toEqual(at(900 - FLOOR_MARGIN_MS, 1_000));
    expect(floorOfLease(after, 1_050)).toEqual({ startMs: 900 - FLOOR_MARGIN_MS, floor: after });
  });

  it('follows the jobs it leases, one or many: each lease moves the start to its last job less the margin', () => {
    let floor = floorAfterLease(floorOfLease(NO_FLOOR, 0).floor, 5_000);
    floor = floorAfterLease(floorOfLease(floor, 100).floor, 5_400);
    expect(floor.floorMs).toBe(5_400 - FLOOR_MARGIN_MS);
    // A whole walk that finds an older job moves the start back to it.
    const walk = floorOfLease(floor, FULL_WALK_EVERY_MS);
    expect(walk.startMs).toBeNull();
    expect(floorAfterLease(walk.floor, 4_000).floorMs).toBe(4_000 - FLOOR_MARGIN_MS);
  });

  it('keeps its start when a lease gets nothing', () => {
    expect(floorAfterLease(at(7_000), null)).toEqual(at(7_000));
  });

  it('walks the whole range again at least every FULL_WALK_EVERY_MS, then starts late again', () => {
    const floor = at(10_000, 20_000);
    expect(floorOfLease(floor, 20_000 + FULL_WALK_EVERY_MS - 1).startMs).toBe(10_000);
    const due = floorOfLease(floor, 20_000 + FULL_WALK_EVERY_MS);
    expect(due).toEqual({ startMs: null, floor: at(10_000, 20_000 + FULL_WALK_EVERY_MS) });
    expect(floorOfLease(due.floor, 20_000 + FULL_WALK_EVERY_MS + 1).startMs).toBe(10_000);
  });
});

describe('a wake-up and the start of the next lease', () => {
  it('lowers the start to the due time it announces (a publish that committed behind it), never raises it', () => {
    expect(floorOfWake(at(10_000), 6_000).floorMs).toBe(6_000);
    expect(floorOfLease(floorOfWake(at(10_000), 6_000), 1).startMs).toBe(6_000);
    expect(floorOfWake(at(10_000), 12_000).floorMs).toBe(10_000);
    expect(floorOfWake(at(null), 6_000).floorMs).toBeNull();
  });

  it('that cannot say its due time makes the next lease walk the whole range', () => {
    const woken = floorOfWake(at(10_000, 5), null);
    expect(woken.floorMs).toBeNull();
    expect(floorOfLease(woken, 6).startMs).toBeNull();
  });

  it('while a lease runs, is not undone by that lease\'s answer', () => {
    const running = floorOfLease(at(10_000), 1).floor;
    // A publish that started at 8,000 commits after the lease looked; its wake-up arrives first.
    const woken = floorOfWake(running, 8_000);
    // The lease then answers with jobs up to 15,000: the start stays at 8,000.
    const after = floorAfterLease(woken, 15_000);
    expect(after.floorMs).toBe(8_000);
    expect(floorOfLease(after, 2).startMs).toBe(8_000);
    // The lease after that one moves on.
    expect(floorAfterLease(floorOfLease(after, 2).floor, 16_000).floorMs).toBe(16_000 - FLOOR_MARGIN_MS);
  });

  it('of unknown due time while a lease runs makes the next lease walk the whole range, whatever the answer', () => {
    const after = floorAfterLease(floorOfWake(floorOfLease(at(10_000), 1).floor, null), 15_000);
    expect(after.floorMs).toBeNull();
    expect(floorOfLease(after, 2).startMs).toBeNull();
  });

  it('before a lease is not kept past that lease (the lease saw its job)', () => {
    const woken = floorOfWake(at(10_000), 8_000);
    const lease = floorOfLease(woken, 1);
    expect(lease.startMs).toBe(8_000);
    expect(floorAfterLease(lease.floor, 15_000).floorMs).toBe(15_000 - FLOOR_MARGIN_MS);
  });

  it('of several (batched together) keeps the earliest; one that does not say wins', () => {
    expect(earlierDue(undefined, 5)).toBe(5);
    expect(earlierDue(7, 5)).toBe(5);
    expect(earlierDue(5, 7)).toBe(5);
    expect(earlierDue(null, 5)).toBeNull();
    expect(earlierDue(5, null)).toBeNull();
    expect(earlierDue(undefined, null)).toBeNull();
  });

  it('keeps the earliest of several announced during one lease', () => {
    let floor = floorOfLease(at(10_000), 1).floor;
    for (const due of [9_000, 7_000, 9_500]) floor = floorOfWake(floor, due);
    expect(floorAfterLease(floor, 15_000).floorMs).toBe(7_000);
    expect(floorAfterLease(floor, null).floorMs).toBe(7_000);
  });
});
