/** Which deliveries a replay re-arms (mirrors the server's rule). Pure (unit-tested). */

export type Status = 'PENDING' | 'SUCCEEDED' | 'DEAD' | 'CANCELLED';

export interface Replayable {
  status: Status;
  attemptCount: number;
  parked: boolean;
  isTest: boolean;
}

/**
 * The statuses a bulk replay with this filter covers: DEAD when none are given (the server's
 * default), otherwise the given DEAD/PENDING ones; `unsupported` lists the rest.
 */
export function replayStatuses(statuses: readonly Status[] | null | undefined): { statuses: Status[]; unsupported: Status[] } {
  if (!statuses || statuses.length === 0) return { statuses: ['DEAD'], unsupported: [] };
  return {
    statuses: statuses.filter((s) => s === 'DEAD' || s === 'PENDING'),
    unsupported: statuses.filter((s) => s !== 'DEAD' && s !== 'PENDING'),
  };
}

/** DEAD deliveries, and failed PENDING ones waiting for a retry; never test deliveries (shared with the event page). */
export { isReplayable } from '../../shared/deliveryState.js';

/** Status and URL-parameter helpers for the filter bar: "DEAD,PENDING" ⇄ ['DEAD', 'PENDING']. */
export function parseStatuses(param: string | null): Status[] {
  const valid: Status[] = ['PENDING', 'SUCCEEDED', 'DEAD', 'CANCELLED'];
  return (param ?? '')
    .split(',')
    .map((s) => s.trim().toUpperCase())
    .filter((s): s is Status => (valid as string[]).includes(s));
}
