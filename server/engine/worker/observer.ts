import type { AttemptRecord } from '../../db/repos/attempts.js';
import type { BreakerState } from '../../domain/circuitBreaker.js';

/** Hooks for metrics; the engine works without them. */
export interface EngineObserver {
  attempt?(a: {
    endpointId: string;
    succeeded: boolean;
    errorClass: string | null;
    durationMs: number;
    trigger: AttemptRecord['trigger'];
    deliveryStatus: string;
    /** Publish → this successful attempt, ms. */
    deliveryLatencyMs: number | null;
  }): void;
  breaker?(endpointId: string, state: BreakerState['state']): void;
}
