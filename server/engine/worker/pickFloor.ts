/**
 * Where an endpoint's lease starts walking its due index. Every job the worker leases leaves its
 * entry in the endpoint's range of the due index (the lease's update moves the row out of the
 * partial index; the old entry stays until a vacuum) and the finished job's delete leaves its heap
 * version dead: each lease walked all the jobs its endpoint had leased since the last vacuum of
 * its shard before reaching one it wanted (after a burst, ~1,000 buffers for a lease of one job).
 * The walk can start later: every job a lease skipped before its last pick was leased already,
 * except one whose writer committed after the lease looked (a publish stamps `start_after` with
 * its transaction's start, so its job can appear behind jobs already picked).
 *
 * So the next lease starts at the last picked job's due time less a margin, and a wake-up lowers
 * that start to the due time it announces: a publish's wake-up carries its transaction's start
 * (db/notifications.ts, wakePayloads), a timer its own time; a wake-up that cannot say (discovery,
 * an operator's retry, a plan change, a listener gap) makes the next lease walk the whole range.
 * A wake-up that arrives while a lease runs is kept until the lease answers, so that answer does
 * not move the start past it. Every FULL_WALK_EVERY_MS one lease walks the whole range anyway.
 */

/** Room behind the last picked job (a wake-up that did not say its due time, a clock step). */
export const FLOOR_MARGIN_MS = 2_000;
/** One lease walks the whole range at least this often. */
export const FULL_WALK_EVERY_MS = 10_000;

export interface PickFloor {
  /** The due time leases start from (epoch ms, the database's clock); null: the start of the range. */
  floorMs: number | null;
  /** When a lease last walked the whole range (this process's clock). */
  fullWalkAtMs: number;
  /**
   * The earliest due time announced since the running lease began (undefined: none; null: one
   * that did not say, so the whole range).
   */
  announcedMs: number | null | undefined;
}

export const NO_FLOOR: PickFloor = { floorMs: null, fullWalkAtMs: Number.NEGATIVE_INFINITY, announcedMs: undefined };

/** Where this lease starts (null: the whole range), and the floor to keep while it runs. */
export function floorOfLease(floor: PickFloor, nowMs: number): { startMs: number | null; floor: PickFloor } {
  if (floor.floorMs === null || nowMs - floor.fullWalkAtMs >= FULL_WALK_EVERY_MS) {
    return { startMs: null, floor: { floorMs: floor.floorMs, fullWalkAtMs: nowMs, announcedMs: undefined } };
  }
  return { startMs: floor.floorMs, floor: { ...floor, announcedMs: undefined } };
}

/**
 * The earlier of two announced due times, where null (not said: the whole range) wins and
 * undefined (nothing announced yet) gives way.
 */
export function earlierDue(a: number | null | undefined, b: number | null): number | null {
  return a === null || b === null ? null : Math.min(a ?? Number.POSITIVE_INFINITY, b);
}

/** A wake-up announcing jobs due from `dueMs` on (null: it does not say): no lease starts later. */
export function floorOfWake(floor: PickFloor, dueMs: number | null): PickFloor {
  return {
    floorMs: floor.floorMs === null ? null : earlierDue(floor.floorMs, dueMs),
    fullWalkAtMs: floor.fullWalkAtMs,
    announcedMs: earlierDue(floor.announcedMs, dueMs),
  };
}

/**
 * The floor after a lease whose latest job was due at `lastDueMs` (null: it got none, and the
 * floor stays), never above what was announced while it ran.
 */
export function floorAfterLease(floor: PickFloor, lastDueMs: number | null): PickFloor {
  const announced = floor.announcedMs;
  if (lastDueMs === null) return { ...floor, announcedMs: undefined };
  const moved = lastDueMs - FLOOR_MARGIN_MS;
  const floorMs = announced === null ? null : Math.min(moved, announced ?? Number.POSITIVE_INFINITY);
  return { floorMs, fullWalkAtMs: floor.fullWalkAtMs, announcedMs: undefined };
}
