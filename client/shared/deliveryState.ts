/**
 * What a delivery is waiting for, and whether it can be replayed: shared by the delivery list, the
 * delivery page and the event page. Pure (unit-tested); mirrors the server's rules.
 */

export type DeliveryStatus = 'PENDING' | 'SUCCEEDED' | 'DEAD' | 'CANCELLED';

export interface DeliveryFacts {
  status: DeliveryStatus;
  attemptCount: number;
  nextAttemptAt: string | null;
  parked: boolean;
  isTest: boolean;
}

export interface EndpointFacts {
  active: boolean;
  circuitState: 'CLOSED' | 'OPEN' | 'HALF_OPEN';
  circuitOpenUntil: string | null;
}

/** DEAD deliveries, and failed PENDING ones waiting for a retry; never test deliveries. */
export function isReplayable(d: Pick<DeliveryFacts, 'status' | 'attemptCount' | 'parked' | 'isTest'>): boolean {
  if (d.isTest) return false;
  if (d.status === 'DEAD') return true;
  return d.status === 'PENDING' && d.attemptCount > 0 && !d.parked;
}

export type Waiting =
  | { kind: 'paused'; label: string; detail: string }
  | { kind: 'circuit-open'; label: string; detail: string; at: string | null }
  | { kind: 'probing'; label: string; detail: string }
  | { kind: 'ordering'; label: string; detail: string }
  | { kind: 'queued'; label: string; detail: string }
  | { kind: 'retry'; label: string; detail: string; at: string | null };

/**
 * Why a PENDING delivery has not gone out (null for any other status). The endpoint's state comes
 * first: behind an open circuit the delivery's own next-attempt time means nothing.
 */
export function waitingFor(d: DeliveryFacts, endpoint: EndpointFacts | null): Waiting | null {
  if (d.status !== 'PENDING') return null;
  if (endpoint && !endpoint.active) {
    return { kind: 'paused', label: 'Endpoint paused', detail: 'The endpoint is paused or disabled: this delivery waits until it is resumed.' };
  }
  if (endpoint?.circuitState === 'OPEN') {
    return {
      kind: 'circuit-open',
      label: 'Circuit open',
      detail: 'Waiting behind the endpoint’s open circuit: nothing is sent until a probe succeeds.',
      at: endpoint.circuitOpenUntil,
    };
  }
  if (endpoint?.circuitState === 'HALF_OPEN') {
    return { kind: 'probing', label: 'Probing', detail: 'The endpoint is being probed; this delivery goes out if the probe succeeds.' };
  }
  if (d.parked) return { kind: 'ordering', label: 'Waiting (ordering)', detail: 'Waiting behind an earlier delivery with the same ordering key (strict ordering).' };
  if (d.attemptCount === 0) return { kind: 'queued', label: 'Queued', detail: 'The first attempt is queued and goes out as soon as the endpoint has a free slot.' };
  return { kind: 'retry', label: 'Retry', detail: 'The last attempt failed; the next one is scheduled by the retry policy.', at: d.nextAttemptAt };
}
