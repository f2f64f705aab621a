/**
 * Where an endpoint's lease starts walking its due index. Every job the worker leases leaves its
 * entry in the endpoint's range of the due index (the lease's update moves the row out of the
 * partial index; the old entry stays until a vacuum) and the finished job's delete leaves its heap
 * version dead: each lease walked all the jobs its endpoint had leased since the last vacuum of
 * its shard before reaching one it wanted (after a burst, ~1,000 buffers for a lease of one job).
 * The walk can start later: every job a lease skipped before its last pick was leased already,
 * except one whose publish committed after the lease looked (a publish stamps `start_after` with
 * its transaction's start, so its job can appear behind jobs already picked).
 *
 * So the next lease starts at the last picked job's due time less a margin that covers a
 * publish's commit, and every FULL_WALK_EVERY_MS one lease walks the whole range: a job committed
 * later than the margin behind the start waits for that walk at most (a lease comes for it: its
 * own wake-up, the next ones, or discovery, which wakes endpoints with something due).
 */

/** Room behind the last picked job for publishes still committing (a commit stalls ~1.5 s at worst, measured). */
export const FLOOR_MARGIN_MS = 2_000;
/** One lease walks the whole range at least this often. */
export const FULL_WALK_EVERY_MS = 10_000;

export interface PickFloor {
  /** The due time leases start from (epoch ms, the database's clock); null: the start of the range. */
  floorMs: number | null;
  /** When a lease last walked the whole range (this process's clock). */
  fullWalkAtMs: number;
}

export const NO_FLOOR: PickFloor = { floorMs: null, fullWalkAtMs: Number.NEGATIVE_INFINITY };

/** Where this lease starts (null: the whole range), and the floor to keep meanwhile. */
export function floorOfLease(floor: PickFloor, nowMs: number): { startMs: number | null; floor: PickFloor } {
  if (floor.floorMs === null || nowMs - floor.fullWalkAtMs >= FULL_WALK_EVERY_MS) {
    return { startMs: null, floor: { floorMs: floor.floorMs, fullWalkAtMs: nowMs } };
  }
  return { startMs: floor.floorMs, floor };
}

/**
 * The floor after a lease whose latest job was due at `lastDueMs` (null: it got none, and the
 * floor stays). A whole walk that finds an older job (committed late) moves the start back to it.
 */
export function floorAfterLease(floor: PickFloor, lastDueMs: number | null): PickFloor {
  if (lastDueMs === null) return floor;
  return { floorMs: lastDueMs - FLOOR_MARGIN_MS, fullWalkAtMs: floor.fullWalkAtMs };
}
