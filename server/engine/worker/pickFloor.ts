/**
 * Where an endpoint's lease starts walking its due index. Every job the worker leases leaves its
 * entry in the endpoint's range of the due index (the lease's update moves the row out of the
 * partial index; the old entry stays until a vacuum) and the finished job's delete leaves its heap
 * version dead: an endpoint with a backlog walks all its jobs leased since the last vacuum of its
 * shard, in front of the ones it wants, on every lease. The walk can start later: every job a full
 * lease skipped before its last pick was leased by us already, except one whose publish committed
 * after the lease looked (a publish stamps `start_after` with its transaction's start, so its job
 * can appear behind jobs already picked).
 *
 * So while leases come back full (a backlog), the next lease starts at the last picked job's due
 * time less a margin that covers a publish's commit; every FULL_WALK_EVERY_MS one lease walks the
 * whole range, and a short lease that started late is followed at once by one that walks it all,
 * so a job committed behind the start is found at the end of a burst or within that time at most.
 * An endpoint without a backlog (short leases) always walks the whole range: its range holds few
 * dead entries, and the check would cost it a second lease.
 */

/** Room behind the last picked job for publishes still committing (a commit stalls ~1.5 s at worst, measured). */
export const FLOOR_MARGIN_MS = 2_000;
/** While leases start late, one walks the whole range at least this often. */
export const FULL_WALK_EVERY_MS = 10_000;

export interface PickFloor {
  /** The due time leases start from (epoch ms); null: the start of the range. */
  floorMs: number | null;
  /** When a lease last walked the whole range. */
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

export interface LeaseOutcome {
  /** Where the lease started (floorOfLease's startMs). */
  startMs: number | null;
  /** It returned as many jobs as it asked for. */
  full: boolean;
  /** The latest due time among the jobs it returned (null: none). */
  lastDueMs: number | null;
}

/**
 * The floor after a lease, and whether the endpoint must lease again at once from the start of its
 * range (a short lease that started late may have missed a job committed behind its start).
 */
export function floorAfterLease(floor: PickFloor, lease: LeaseOutcome): { floor: PickFloor; walkAgain: boolean } {
  if (lease.full && lease.lastDueMs !== null) {
    return { floor: { floorMs: lease.lastDueMs - FLOOR_MARGIN_MS, fullWalkAtMs: floor.fullWalkAtMs }, walkAgain: false };
  }
  if (lease.full) return { floor, walkAgain: false };
  return { floor: { floorMs: null, fullWalkAtMs: floor.fullWalkAtMs }, walkAgain: lease.startMs !== null };
}
