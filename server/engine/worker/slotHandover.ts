import type { Logger } from '../../logger.js';
import type { DeliveryJobs } from '../../db/repos/deliveryJobs.js';
import { SHARD_COUNT } from '../../db/queues.js';
import type { Recorder } from '../recorder.js';
import type { EndpointState, EndpointStates } from './endpointStates.js';
import type { FinishedJobs } from './finishedJobs.js';
import type { OwnershipHooks } from './slotOwnership.js';

/** The shards holding the endpoints of these slots. */
export function shardsOf(slots: Iterable<number>): number[] {
  return [...new Set([...slots].map((slot) => slot % SHARD_COUNT))];
}

/**
 * What the worker does when slots change hands: taking slots over releases what a previous owner
 * left leased and searches their shards for due work; handing slots over stops leasing for their
 * endpoints and waits until what is in flight is recorded; losing the lock connection stops
 * everything at once.
 */
export function createSlotHandover(deps: {
  states: EndpointStates;
  jobs: DeliveryJobs;
  recorder: Recorder;
  finished: FinishedJobs;
  log: Logger;
  /** When each owned slot was taken (a takeover's first second respects the old owner's sends). */
  slotAcquiredAt: Map<number, number>;
  owns(endpointId: string): boolean;
  discover(shards: number[]): Promise<void>;
  waitIdle(list: EndpointState[]): Promise<void>;
}): OwnershipHooks {
  const { states, log } = deps;
  return {
    onAcquire: async (slots) => {
      const nowMs = Date.now();
      for (const slot of slots) deps.slotAcquiredAt.set(slot, nowMs);
      const shards = shardsOf(slots);
      // Jobs still leased here belonged to a worker that died or handed these slots over
      // unfinished: make them leasable now instead of after their lease expires.
      const released = await deps.jobs.releaseActive(shards, deps.owns);
      if (released > 0) log.info({ released }, 'took over leased jobs from a previous owner');
      await deps.discover(shards);
    },
    onRelease: async (slots) => {
      const leaving = states.inSlots(new Set(slots));
      for (const s of leaving) states.retire(s);
      await deps.waitIdle(leaving);
      await deps.recorder.drain();
      await deps.finished.flush(true);
      for (const s of leaving) states.drop(s.id);
      for (const slot of slots) deps.slotAcquiredAt.delete(slot);
    },
    onLost: () => {
      const all = [...states.values()];
      for (const s of all) states.retire(s);
      deps.slotAcquiredAt.clear();
      void deps.waitIdle(all).then(() => {
        for (const s of all) states.drop(s.id);
      });
    },
  };
}
