import type { Logger } from '../../logger.js';
import type { EndpointChanged } from '../../db/notifications.js';
import type { HttpSender } from '../httpSender.js';
import type { EndpointState, EndpointStates } from './endpointStates.js';

/**
 * Settings, keys, breaker or plan of an endpoint changed somewhere (any process): the cached
 * runtime is forgotten; an endpoint with a state reloads it, and leases and sends nothing in the
 * meantime (a wake-up following the change on the same channel must not use the old settings).
 */
export function createEndpointChanges(deps: {
  states: EndpointStates;
  sender: HttpSender;
  log: Logger;
  owns(endpointId: string): boolean;
  wake(s: EndpointState): void;
}) {
  const { states, sender } = deps;
  const reloadDone = new Map<EndpointState, () => void>();

  async function reload(list: EndpointState[]): Promise<void> {
    for (const s of list) {
      // Set synchronously. Overlapping changes share one gate, opened when the last reload ends.
      s.reloadsPending++;
      if (!s.reloading) s.reloading = new Promise<void>((resolve) => reloadDone.set(s, resolve));
    }
    try {
      await states.reload(list);
    } finally {
      for (const s of list) {
        if (--s.reloadsPending > 0) continue;
        reloadDone.get(s)?.();
        reloadDone.delete(s);
        s.reloading = null;
        deps.wake(s);
      }
    }
  }

  return {
    async apply(changes: EndpointChanged[]): Promise<void> {
      const toReload: EndpointState[] = [];
      for (const change of changes) {
        const id = change.endpointId;
        sender.forgetEndpoint(id);
        states.forgetRuntime(id);
        const s = states.get(id);
        if (!s) continue;
        if (change.deleted) {
          states.retire(s);
          states.drop(id);
          continue;
        }
        if (deps.owns(id)) toReload.push(s);
      }
      if (toReload.length) await reload(toReload);
    },

    /** After a listener gap: anything may have changed. */
    async reloadAll(): Promise<void> {
      states.forgetAllRuntimes();
      const list = [...states.values()].filter((s) => !s.retired);
      if (list.length) await reload(list);
    },
  };
}
