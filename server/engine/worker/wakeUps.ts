import type { Logger } from '../../logger.js';
import type { EndpointState, EndpointStates } from './endpointStates.js';
import type { FetchRounds } from './fetchRounds.js';
import { earlierDue, floorOfWake } from './pickFloor.js';

export interface WakeUpsDeps {
  states: EndpointStates;
  rounds: FetchRounds;
  owns(endpointId: string): boolean;
  arm(endpointId: string, atMs: number): void;
  /** Removes what a publish racing an endpoint's deletion left behind. */
  cleanUpDeleted(endpointIds: string[]): Promise<void>;
  log: Logger;
  stopped(): boolean;
}

/**
 * Endpoints that may have something due now (a notification, a timer, discovery): their states
 * (made if needed) lease. Wake-ups arriving in the same tick (one notification per publish) share
 * one runtime load: with endpoints spread thin most of them are not cached. Each carries the due
 * time its waker announced (null: unknown), where the endpoint's next lease starts at the latest.
 */
export function createWakeUps(deps: WakeUpsDeps) {
  const { states, rounds, log } = deps;
  let batch: Map<string, number | null> | null = null;

  function wake(ids: string[], dueMs: number | null): Promise<void> {
    if (deps.stopped()) return Promise.resolve();
    const pending = batch ?? new Map<string, number | null>();
    for (const id of ids) {
      if (!deps.owns(id)) continue;
      pending.set(id, earlierDue(pending.get(id), dueMs));
    }
    if (batch) return Promise.resolve();
    batch = pending;
    return new Promise<void>((resolve) =>
      setImmediate(() => {
        batch = null;
        void wakeNow(pending).finally(resolve);
      }),
    );
  }

  async function wakeNow(owned: Map<string, number | null>): Promise<void> {
    if (owned.size === 0 || deps.stopped()) return;
    // Endpoints with a state are woken at once; only the others wait for their runtimes.
    const missing: string[] = [];
    for (const [id, dueMs] of owned) {
      const s = states.get(id);
      if (s && !s.retired && s.runtime) rounds.wake(s, dueMs);
      else {
        // Kept even if loading the runtime fails below (its retry's timer knows no due time).
        if (s) s.floor = floorOfWake(s.floor, dueMs);
        missing.push(id);
      }
    }
    if (missing.length === 0) return;
    let opened: EndpointState[];
    try {
      opened = await states.open(missing);
    } catch (err) {
      log.warn({ err: (err as Error).message, endpoints: missing.length }, 'could not load endpoints to wake; retrying');
      const at = Date.now() + 1000;
      for (const id of missing) deps.arm(id, at);
      return;
    }
    const ready = new Set(opened.map((s) => s.id));
    const gone = missing.filter((id) => !ready.has(id) && (states.get(id)?.runtime?.deleted ?? !states.get(id)?.runtime));
    for (const s of opened) rounds.wake(s, owned.get(s.id) ?? null);
    if (gone.length) {
      await deps.cleanUpDeleted(gone).catch((err) => log.warn({ err: (err as Error).message }, 'could not clean up after deleted endpoints'));
      for (const id of gone) states.drop(id);
    }
  }

  return { wake };
}
export type WakeUps = ReturnType<typeof createWakeUps>;
