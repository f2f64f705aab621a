/**
 * What "healthy" means for an endpoint (console badge, "Needs attention" filter, API field
 * `Endpoint.health`): its state (paused, disabled, circuit) first, then how its recent attempts
 * went. Pure: the caller passes the recent outcomes it read and nothing here reads a clock.
 */

export type EndpointHealthStatus = 'HEALTHY' | 'DEGRADED' | 'FAILING' | 'CIRCUIT_OPEN' | 'PROBING' | 'PAUSED' | 'DISABLED';

/** Thresholds, documented in docs/console.md ("Health"). */
export const HEALTH_RULES = {
  /** Recent attempts are those of the last day... */
  windowSeconds: 86_400,
  /** ...at most this many, the newest (a busy endpoint is judged on its latest traffic). */
  sampleSize: 100,
  /** Fewer recent attempts than this say too little for a rate; the failure streak still counts. */
  minAttempts: 5,
  /** Share of failed recent attempts from which the endpoint is DEGRADED. */
  degradedRate: 0.1,
  /** Share of failed recent attempts from which the endpoint is FAILING. */
  failingRate: 0.5,
  /** Consecutive failures (the breaker's streak) that make it DEGRADED, and FAILING. */
  degradedStreak: 3,
  failingStreak: 5,
} as const;

/** The recent attempts of one endpoint, as read from delivery_attempts. */
export interface RecentOutcomes {
  attempts: number;
  failures: number;
  lastAttemptAt: Date | null;
}

export interface EndpointHealthInput {
  active: boolean;
  disabledReason: string | null;
  circuitState: 'CLOSED' | 'OPEN' | 'HALF_OPEN';
  consecutiveFailures: number;
  recent: RecentOutcomes;
}

export interface EndpointHealth {
  status: EndpointHealthStatus;
  /** Failed share of the recent attempts; null without any. */
  recentFailureRate: number | null;
  recentAttempts: number;
  recentFailures: number;
  consecutiveFailures: number;
  lastAttemptAt: Date | null;
  /** One sentence saying why the status is what it is. */
  reason: string;
}

/** Statuses that need someone to look (the console's "Needs attention" filter). */
export const NEEDS_ATTENTION: ReadonlySet<EndpointHealthStatus> = new Set(['DEGRADED', 'FAILING', 'CIRCUIT_OPEN', 'PROBING', 'DISABLED']);

/** A pause by hand records `Paused by "<key name>"`; anything else inactive was disabled by the service. */
export function isPausedByHand(disabledReason: string | null): boolean {
  return disabledReason === null || disabledReason.startsWith('Paused');
}

function percent(rate: number): string {
  return `${Math.round(rate * 1000) / 10}%`;
}

/** The endpoint's health from its state and its recent attempts. */
export function assessEndpointHealth(input: EndpointHealthInput): EndpointHealth {
  const { recent } = input;
  const rate = recent.attempts > 0 ? recent.failures / recent.attempts : null;
  const base = {
    recentFailureRate: rate,
    recentAttempts: recent.attempts,
    recentFailures: recent.failures,
    consecutiveFailures: input.consecutiveFailures,
    lastAttemptAt: recent.lastAttemptAt,
  };
  const of = `${recent.failures} of the last ${recent.attempts} attempts failed`;
  if (!input.active) {
    return isPausedByHand(input.disabledReason)
      ? { ...base, status: 'PAUSED', reason: input.disabledReason ?? 'Paused by hand; resume it to deliver the backlog.' }
      : { ...base, status: 'DISABLED', reason: input.disabledReason ?? 'Disabled by the service.' }; // e.g. 410 Gone
  }
  if (input.circuitState === 'OPEN') {
    return { ...base, status: 'CIRCUIT_OPEN', reason: `The circuit is open after ${input.consecutiveFailures} consecutive failures: deliveries wait for a probe.` };
  }
  if (input.circuitState === 'HALF_OPEN') {
    return { ...base, status: 'PROBING', reason: 'The circuit is half open: one probe request decides whether it closes.' };
  }
  const enough = recent.attempts >= HEALTH_RULES.minAttempts;
  if ((enough && rate! >= HEALTH_RULES.failingRate) || input.consecutiveFailures >= HEALTH_RULES.failingStreak) {
    return {
      ...base,
      status: 'FAILING',
      reason: enough && rate! >= HEALTH_RULES.failingRate ? `${of} (${percent(rate!)}).` : `The last ${input.consecutiveFailures} attempts failed.`,
    };
  }
  if ((enough && rate! >= HEALTH_RULES.degradedRate) || input.consecutiveFailures >= HEALTH_RULES.degradedStreak) {
    return {
      ...base,
      status: 'DEGRADED',
      reason: enough && rate! >= HEALTH_RULES.degradedRate ? `${of} (${percent(rate!)}).` : `The last ${input.consecutiveFailures} attempts failed.`,
    };
  }
  return {
    ...base,
    status: 'HEALTHY',
    reason: recent.attempts === 0 ? 'No attempts in the last 24 hours.' : `${of}.`,
  };
}
