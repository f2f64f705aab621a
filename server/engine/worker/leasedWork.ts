import type { Logger } from '../../logger.js';
import type { FetchedJob } from '../../db/repos/deliveryJobs.js';
import type { LoadedDelivery, WorkerReads } from '../../db/repos/workerReads.js';
import type { Dispatch } from './dispatch.js';
import type { EndpointState, Work } from './endpointStates.js';
import { claimKey } from './orderingKeys.js';

/** A STRICT check that failed hands its jobs back for this long. */
const RETRY_AFTER_FAILURE_MS = 1000;

/**
 * What happens to each leased job before an attempt: a leftover (its delivery finished, was
 * cancelled, or already has the attempt this job was written for) is dropped; a STRICT delivery
 * that an earlier pending one with the same key holds back is parked; the rest claim their
 * orderingKey and go, or wait behind the delivery holding it.
 */
export function createLeasedWork(deps: { reads: WorkerReads; dispatch: Dispatch; log: Logger; armTimer(endpointId: string, atMs: number): void }) {
  const { dispatch, log } = deps;

  async function strictBlocked(items: { s: EndpointState; job: FetchedJob; delivery: LoadedDelivery | null }[]): Promise<Set<string>> {
    const candidates = items
      .filter(({ s, job, delivery }) => delivery?.status === 'PENDING' && delivery.orderingKey !== null && s.runtime?.orderingMode === 'STRICT' && !job.manual)
      .map(({ s, delivery }) => ({ id: delivery!.id, endpointId: s.id, orderingKey: delivery!.orderingKey!, seq: delivery!.seq }));
    return deps.reads.strictBlocked(candidates);
  }

  return async function onLeased(items: { s: EndpointState; job: FetchedJob; delivery: LoadedDelivery | null }[]): Promise<void> {
    let blocked: Set<string>;
    try {
      blocked = await strictBlocked(items);
    } catch (err) {
      // The jobs stay leased; hand them back so they are leased again.
      log.warn({ err: (err as Error).message, jobs: items.length }, 'checking STRICT ordering failed');
      const at = Date.now() + RETRY_AFTER_FAILURE_MS;
      for (const { s, job } of items) {
        deps.armTimer(s.id, at);
        dispatch.finish(s, null, { requeueJob: { shard: job.shard, jobId: job.id, startAfter: new Date(at) } }, { sent: false });
      }
      return;
    }
    for (const { s, job, delivery } of items) {
      if (
        !delivery ||
        delivery.status !== 'PENDING' ||
        (!job.manual && job.attemptsMade !== null && job.attemptsMade !== delivery.attemptCount)
      ) {
        // Already finished, cancelled, or a leftover whose attempt is recorded (its successor job,
        // if any, was written with that record): nothing to send.
        dispatch.finish(s, null, { removeJob: job }, { sent: false });
        continue;
      }
      if (blocked.has(delivery.id)) {
        dispatch.finish(
          s,
          null,
          {
            park: { deliveryId: delivery.id },
            removeJob: job,
            strictKey: { endpointId: s.id, orderingKey: delivery.orderingKey! },
          },
          { sent: false },
        );
        continue;
      }
      const work: Work = { job, delivery, manual: job.manual };
      if (claimKey(s, work)) void dispatch.dispatch(s, work);
    }
  };
}
