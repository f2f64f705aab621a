import type { Sql } from 'postgres';
import type { Logger } from '../logger.js';
import { createLegacyQueues } from '../db/repos/legacyQueues.js';
import { LEGACY_PRESENCE_LOCK_CLASS } from './worker/slotOwnership.js';

/**
 * Upgrade from the first version's per-endpoint queues, at start: every job moves to its
 * endpoint's shard queue with its id, state, due time, lease and retry count; the old queues and
 * their partitions are dropped. Run before this process starts delivering; several processes
 * starting together take turns (an advisory lock) and find nothing left to do.
 *
 * Processes of the previous version must be stopped first (docs/operations.md): their workers
 * would keep leasing from queues being dropped (a job they hold is moved while leased, so the
 * worst case is a duplicate delivery), and their publishes into dropped queues would cancel.
 */
export async function upgradeLegacyQueues(deps: { sql: Sql; log: Logger }): Promise<{ queues: number; jobs: number }> {
  const legacy = createLegacyQueues(deps.sql);
  const names = await legacy.list();
  if (names.length > 0) {
    const oldWorkers = await legacy.sessionsHolding(LEGACY_PRESENCE_LOCK_CLASS);
    if (oldWorkers > 0) {
      deps.log.warn({ oldWorkers }, 'workers of the previous version are still running; stop them (their in-flight deliveries may be sent twice)');
    }
    const startedMs = Date.now();
    deps.log.info({ queues: names.length }, 'moving per-endpoint delivery queues to the shard queues');
    const jobs = await legacy.move(names);
    deps.log.info({ queues: names.length, jobs, ms: Date.now() - startedMs }, 'delivery queues upgraded');
    await legacy.dropLegacyIndex();
    return { queues: names.length, jobs };
  }
  await legacy.dropLegacyIndex();
  return { queues: 0, jobs: 0 };
}
