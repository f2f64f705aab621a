/**
 * Per-endpoint circuit breaker (SPEC §6). CLOSED counts consecutive failures; at the threshold
 * it OPENs and deliveries wait without spending attempts; after the cooldown one probe goes out
 * (HALF_OPEN); the probe's success closes it, its failure reopens it with a doubled cooldown.
 * An open streak lasting 5 days disables the endpoint. Pure: the caller passes `nowMs` and
 * persists the returned state (it maps 1:1 onto the endpoint's circuit_* columns).
 */

export type CircuitState = 'CLOSED' | 'OPEN' | 'HALF_OPEN';

/** Per-endpoint breaker settings. */
export interface BreakerSettings {
  enabled: boolean;
  failureThreshold: number;
  cooldownSeconds: number;
}

/** Persisted breaker state of one endpoint. */
export interface BreakerState {
  state: CircuitState;
  consecutiveFailures: number;
  /** When the current open streak began (kept across reopenings), for the 5-day auto-disable. */
  openedAtMs: number | null;
  /** OPEN: end of the cooldown. HALF_OPEN: end of the probe's lease (see PROBE_LEASE_MS). */
  openUntilMs: number | null;
  currentCooldownSeconds: number | null;
}

export type GateDecision =
  | { action: 'SEND' }
  | { action: 'PROBE'; state: BreakerState }
  | { action: 'WAIT'; untilMs: number };

export interface BreakerUpdate {
  state: BreakerState;
  transition: null | { from: CircuitState; to: CircuitState };
  disableEndpoint: boolean;
}

export const MAX_COOLDOWN_SECONDS = 3600;
export const AUTO_DISABLE_AFTER_MS = 5 * 24 * 60 * 60 * 1000;
/**
 * A probe whose outcome never arrives (its worker crashed) must not wedge the endpoint in
 * HALF_OPEN forever: after this lease another probe may go. It exceeds the longest endpoint
 * timeout (30 s) so a live probe is never doubled.
 */
export const PROBE_LEASE_MS = 60_000;

export const BREAKER_LIMITS = {
  failureThreshold: { min: 1, max: 1000 },
  cooldownSeconds: { min: 1, max: MAX_COOLDOWN_SECONDS },
} as const;

const CLOSED_STATE: BreakerState = Object.freeze({
  state: 'CLOSED',
  consecutiveFailures: 0,
  openedAtMs: null,
  openUntilMs: null,
  currentCooldownSeconds: null,
});

/** The state of a new endpoint: closed, no failures. */
export function initialBreakerState(): BreakerState {
  return { ...CLOSED_STATE };
}

/** Decides whether a delivery may be sent now, must be the probe, or waits until a time. */
export function breakerGate(state: BreakerState, nowMs: number, settings?: BreakerSettings): GateDecision {
  if (state.state === 'CLOSED' || settings?.enabled === false) return { action: 'SEND' };
  if (state.openUntilMs !== null && nowMs < state.openUntilMs) return { action: 'WAIT', untilMs: state.openUntilMs };
  // OPEN past its cooldown, or HALF_OPEN whose probe lease lapsed: this delivery is the probe.
  return { action: 'PROBE', state: { ...state, state: 'HALF_OPEN', openUntilMs: nowMs + PROBE_LEASE_MS } };
}

function transitionOf(from: CircuitState, to: CircuitState): BreakerUpdate['transition'] {
  return from === to ? null : { from, to };
}

/** Applies a successful attempt: any success closes the breaker and clears the failure streak. */
export function recordSuccess(state: BreakerState, _settings: BreakerSettings, _nowMs: number): BreakerUpdate {
  // Closing from OPEN too: a request already in flight when the breaker opened proves the
  // endpoint is healthy again just as well as a probe does.
  return { state: initialBreakerState(), transition: transitionOf(state.state, 'CLOSED'), disableEndpoint: false };
}

/** Applies a failed attempt: may open or reopen the breaker and may ask to disable the endpoint. */
export function recordFailure(state: BreakerState, settings: BreakerSettings, nowMs: number): BreakerUpdate {
  const consecutiveFailures = state.consecutiveFailures + 1;

  if (!settings.enabled) {
    // A breaker switched off while open lets traffic flow again at once.
    return {
      state: { ...CLOSED_STATE, consecutiveFailures },
      transition: transitionOf(state.state, 'CLOSED'),
      disableEndpoint: false,
    };
  }

  if (state.state === 'CLOSED') {
    if (consecutiveFailures < settings.failureThreshold) {
      return { state: { ...state, consecutiveFailures }, transition: null, disableEndpoint: false };
    }
    const cooldown = Math.min(settings.cooldownSeconds, MAX_COOLDOWN_SECONDS);
    return {
      state: {
        state: 'OPEN',
        consecutiveFailures,
        openedAtMs: nowMs,
        openUntilMs: nowMs + cooldown * 1000,
        currentCooldownSeconds: cooldown,
      },
      transition: { from: 'CLOSED', to: 'OPEN' },
      disableEndpoint: false,
    };
  }

  const openedAtMs = state.openedAtMs ?? nowMs;
  const disableEndpoint = nowMs - openedAtMs >= AUTO_DISABLE_AFTER_MS;

  if (state.state === 'HALF_OPEN') {
    const previous = state.currentCooldownSeconds ?? settings.cooldownSeconds;
    const cooldown = Math.min(previous * 2, MAX_COOLDOWN_SECONDS);
    return {
      state: {
        state: 'OPEN',
        consecutiveFailures,
        openedAtMs,
        openUntilMs: nowMs + cooldown * 1000,
        currentCooldownSeconds: cooldown,
      },
      transition: { from: 'HALF_OPEN', to: 'OPEN' },
      disableEndpoint,
    };
  }

  // OPEN: a straggler that was in flight when the breaker opened; the cooldown stands.
  return { state: { ...state, consecutiveFailures, openedAtMs }, transition: null, disableEndpoint };
}

/** Human-readable problems with breaker settings, each naming the allowed range; empty when valid. */
export function validateBreakerSettings(s: BreakerSettings): string[] {
  const problems: string[] = [];
  if (typeof s.enabled !== 'boolean') problems.push('enabled must be true or false');
  for (const name of ['failureThreshold', 'cooldownSeconds'] as const) {
    const value: unknown = s[name];
    const { min, max } = BREAKER_LIMITS[name];
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      problems.push(`${name} must be a whole number between ${min} and ${max} (got ${JSON.stringify(value) ?? String(value)})`);
    }
  }
  return problems;
}
