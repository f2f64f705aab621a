import type { EndpointState } from './endpointStates.js';

/**
 * Waiting until endpoints have nothing in flight (a slot handover, a graceful stop): woken when
 * anything finishes, and every 200 ms in case nothing does.
 */
export function createIdleWaiters() {
  const waiters = new Set<() => void>();
  return {
    /** Something finished: waiters look again. */
    notifyIdle(): void {
      for (const resolve of waiters) resolve();
    },
    /** Resolves once none of `list` has requests in flight or a lease running. */
    async waitIdle(list: EndpointState[]): Promise<void> {
      while (list.some((s) => s.inFlight > 0 || s.fetching)) {
        await new Promise<void>((resolve) => {
          const done = () => {
            waiters.delete(done);
            resolve();
          };
          waiters.add(done);
          setTimeout(done, 200);
        });
      }
    },
  };
}
