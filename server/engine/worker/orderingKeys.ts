import type { EndpointState, Work } from './endpointStates.js';

/**
 * `orderingKey` exclusivity per endpoint: two deliveries with the same key are never in flight at
 * once. The first claims the key; later ones wait behind it in lease order.
 */

/** True when `work` may go now (it claimed its key, or has none); otherwise it waits its turn. */
export function claimKey(s: EndpointState, work: Work): boolean {
  const key = work.delivery.orderingKey;
  if (key === null) return true;
  const waiting = s.keys.get(key);
  if (waiting) {
    waiting.push(work);
    return false;
  }
  s.keys.set(key, []);
  return true;
}

/**
 * `work` finished: the next delivery waiting for its key goes (returned as `next`), or, when a
 * STRICT delivery failed and stays pending (`hold`), every delivery waiting behind it is parked in
 * the database (returned as `park`) until the failed one succeeds or dies.
 */
export function releaseKey(s: EndpointState, work: Work, hold: boolean): { next: Work | null; park: Work[] } {
  const key = work.delivery.orderingKey;
  if (key === null) return { next: null, park: [] };
  const waiting = s.keys.get(key);
  if (!waiting || waiting.length === 0) {
    s.keys.delete(key);
    return { next: null, park: [] };
  }
  if (hold) {
    s.keys.delete(key);
    return { next: null, park: waiting };
  }
  return { next: waiting.shift()!, park: [] };
}
