import { breakerGate } from '../../domain/circuitBreaker.js';
import { admit } from '../../domain/sendWindow.js';
import type { EndpointState } from './endpointStates.js';

export interface AdmissionOptions {
  /** Most jobs one lease takes from one endpoint. */
  fetchBatchMax: number;
  /**
   * An endpoint with requests in flight leases again only once this many slots are free
   * (default: a quarter of its maxInFlight), so a busy endpoint costs one lease per few
   * deliveries instead of one per delivery. An idle endpoint leases at once.
   */
  fetchMinBatch?: number;
  /** Lease nothing while this many results wait to be recorded (memory stays flat). */
  maxRecorderBacklog: number;
}

export type Admission =
  | { take: number }
  /** Nothing now; ask again at `atMs` (breaker cooldown, rate-limit slot). */
  | { take: 0; retryAtMs: number }
  /** Nothing now; something else will ask again (a completion, a reload, the recorder). */
  | { take: 0; deferred?: boolean }
  /**
   * Nothing until the endpoint is resumed or its organization upgraded (both wake it): it sleeps,
   * and its state may be dropped while its backlog waits in the database.
   */
  | { take: 0; sleep: true };

/**
 * How many jobs an endpoint may lease right now: free `maxInFlight` slots (in few larger leases
 * while busy), nothing while its breaker is open, one probe at a time when half-open, and no more
 * than its rate limit lets start (see domain/sendWindow). Admitted rate-limit slots are taken
 * here; the caller gives back what the lease did not use.
 */
export function createAdmission(options: AdmissionOptions, deps: { recorderBacklog(): number; stopped(): boolean }) {
  return function allowance(s: EndpointState, nowMs: number): Admission {
    const rt = s.runtime;
    if (rt && !rt.active && !s.retired) return { take: 0, sleep: true };
    if (!rt || s.retired || deps.stopped() || s.reloading) return { take: 0 };
    if (deps.recorderBacklog() > options.maxRecorderBacklog) return { take: 0, deferred: true };
    let free = rt.maxInFlight - s.inFlight;
    if (free <= 0) return { take: 0 };
    // Busy: wait for a few free slots, then take them in one lease. The last completion of the
    // batch in flight always gets here with every slot free, so nothing waits longer than that.
    if (s.inFlight > 0 && free < (options.fetchMinBatch ?? Math.ceil(rt.maxInFlight / 4))) return { take: 0 };
    const gate = breakerGate(rt.breaker, nowMs, rt.breakerSettings);
    if (gate.action === 'WAIT') return { take: 0, retryAtMs: gate.untilMs };
    if (gate.action === 'PROBE') {
      // One probe at a time: nothing else may be in flight or waiting.
      if (s.inFlight > 0 || s.probing) return { take: 0 };
      free = 1;
    }
    free = Math.min(free, options.fetchBatchMax);
    if (rt.rateLimitPerSecond && s.window) {
      const { granted, retryAtMs } = admit(s.window, rt.rateLimitPerSecond, nowMs, free);
      if (granted === 0) return retryAtMs === null ? { take: 0 } : { take: 0, retryAtMs };
      free = granted;
    }
    return { take: free };
  };
}
export type Allowance = ReturnType<typeof createAdmission>;
