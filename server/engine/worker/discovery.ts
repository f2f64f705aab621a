import type { Logger } from '../../logger.js';
import type { DeliveryJobs } from '../../db/repos/deliveryJobs.js';

/** Endpoints one discovery statement returns (one index probe each). */
const PAGE = 2_000;
/** A shard's searches take at most this share of the time (a pass of 70 ms waits 35 s). */
const DUTY = 1 / 500;
/** The longest a shard goes unsearched, however slow its passes. */
export const LONGEST_PAUSE_MS = 60_000;

/**
 * How long to wait before searching a shard again after a pass that took `passMs`: at least
 * `minimumMs`, longer when the shard has many endpoints with waiting jobs (a pass costs one index
 * probe per such endpoint), so the background search never costs more than a sliver of Postgres.
 */
export function discoveryPause(passMs: number, minimumMs: number): number {
  return Math.min(LONGEST_PAUSE_MS, Math.max(minimumMs, passMs / DUTY));
}

/**
 * Finding due jobs nobody announced: retries a previous owner scheduled (after a takeover), jobs
 * whose lease expired (a hung worker), notifications lost while the listener was away. A shard's
 * discovery walks the endpoints that have waiting jobs (a skip scan: one probe per endpoint,
 * however long its backlog) and, for those this worker owns, wakes the ones with something due
 * and arms a timer for those due within the horizon (later ones are found by a later pass).
 *
 * Every wake-up path the worker has (notifications, its own timers, each lease answering with the
 * endpoint's next due job) makes discovery a safety net: it runs at takeover, after a listener
 * gap, and in the background, every few seconds per shard or less often where it costs more.
 */
export function createDiscovery(deps: {
  jobs: DeliveryJobs;
  log: Logger;
  owns(endpointId: string): boolean;
  /** Endpoints with something due now. */
  wake(endpointIds: string[]): Promise<void>;
  arm(endpointId: string, atMs: number): void;
  horizonMs: number;
}) {
  const { jobs, log } = deps;
  const running = new Map<number, Promise<number>>();

  async function discoverShard(shard: number): Promise<number> {
    let after = '';
    let found = 0;
    for (;;) {
      const page = await jobs.discover(shard, after, PAGE);
      const nowMs = Date.now();
      const due: string[] = [];
      for (const { endpointId, dueMs } of page) {
        if (!deps.owns(endpointId)) continue;
        found++;
        if (dueMs <= nowMs) due.push(endpointId);
        else if (dueMs <= nowMs + deps.horizonMs) deps.arm(endpointId, dueMs);
      }
      if (due.length) await deps.wake(due);
      if (page.length < PAGE) return found;
      after = page[page.length - 1]!.endpointId;
    }
  }

  return {
    /** Looks at these shards now (one pass each; a pass already running is joined). */
    async run(shards: Iterable<number>, reason: string): Promise<void> {
      const passes = [...new Set(shards)].map((shard) => {
        let pass = running.get(shard);
        if (!pass) {
          pass = discoverShard(shard).finally(() => running.delete(shard));
          running.set(shard, pass);
        }
        return pass;
      });
      const results = await Promise.allSettled(passes);
      const failed = results.filter((r) => r.status === 'rejected');
      if (failed.length) log.warn({ err: ((failed[0] as PromiseRejectedResult).reason as Error).message, reason }, 'discovery of due jobs failed');
    },
  };
}
export type Discovery = ReturnType<typeof createDiscovery>;
