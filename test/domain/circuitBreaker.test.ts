import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  AUTO_DISABLE_AFTER_MS,
  breakerGate,
  initialBreakerState,
  MAX_COOLDOWN_SECONDS,
  PROBE_LEASE_MS,
  recordFailure,
  recordSuccess,
  validateBreakerSettings,
  type BreakerSettings,
  type BreakerState,
  type CircuitState,
} from '../../server/domain/circuitBreaker.js';

const S: BreakerSettings = { enabled: true, failureThreshold: 3, cooldownSeconds: 60 };
const T0 = 1_700_000_000_000;
const DAY = 24 * 60 * 60 * 1000;

/** Drives `n` failures at T0 from a closed breaker. */
function failTimes(n: number, settings = S, start = initialBreakerState(), at = T0) {
  let last = recordFailure(start, settings, at);
  for (let i = 1; i < n; i++) last = recordFailure(last.state, settings, at);
  return last;
}

function openBreaker(settings = S, at = T0): BreakerState {
  const r = failTimes(settings.failureThreshold, settings, initialBreakerState(), at);
  expect(r.state.state).toBe('OPEN');
  return r.state;
}

function probe(state: BreakerState, at: number): BreakerState {
  const g = breakerGate(state, at);
  if (g.action !== 'PROBE') throw new Error(`expected PROBE, got ${g.action}`);
  return g.state;
}

describe('initial state', () => {
  it('is CLOSED with no failures and no open streak', () => {
    expect(initialBreakerState()).toEqual({
      state: 'CLOSED',
      consecutiveFailures: 0,
      openedAtMs: null,
      openUntilMs: null,
      currentCooldownSeconds: null,
    });
  });

  it('returns a fresh object each time', () => {
    const a = initialBreakerState();
    a.consecutiveFailures = 5;
    expect(initialBreakerState().consecutiveFailures).toBe(0);
  });

  it('lets deliveries through', () => {
    expect(breakerGate(initialBreakerState(), T0)).toEqual({ action: 'SEND' });
  });
});

describe('CLOSED', () => {
  it('counts consecutive failures below the threshold without a transition', () => {
    const r = failTimes(2);
    expect(r).toEqual({ state: { ...initialBreakerState(), consecutiveFailures: 2 }, transition: null, disableEndpoint: false });
  });

  it('opens on the threshold-th consecutive failure with the configured cooldown', () => {
    const r = failTimes(3);
    expect(r.transition).toEqual({ from: 'CLOSED', to: 'OPEN' });
    expect(r.disableEndpoint).toBe(false);
    expect(r.state).toEqual({
      state: 'OPEN',
      consecutiveFailures: 3,
      openedAtMs: T0,
      openUntilMs: T0 + 60_000,
      currentCooldownSeconds: 60,
    });
  });

  it('opens on the first failure when the threshold is 1', () => {
    expect(recordFailure(initialBreakerState(), { ...S, failureThreshold: 1 }, T0).state.state).toBe('OPEN');
  });

  it('resets the failure count on success (failures must be consecutive)', () => {
    const two = failTimes(2).state;
    const r = recordSuccess(two, S, T0);
    expect(r).toEqual({ state: initialBreakerState(), transition: null, disableEndpoint: false });
    expect(failTimes(2, S, r.state).state.state).toBe('CLOSED');
  });

  it('does not mutate the state it is given', () => {
    const frozen = Object.freeze(failTimes(2).state);
    expect(() => recordFailure(frozen, S, T0)).not.toThrow();
    expect(() => recordSuccess(frozen, S, T0)).not.toThrow();
    expect(frozen.consecutiveFailures).toBe(2);
  });
});

describe('OPEN', () => {
  it('makes deliveries wait until the cooldown ends', () => {
    const open = openBreaker();
    expect(breakerGate(open, T0)).toEqual({ action: 'WAIT', untilMs: T0 + 60_000 });
    expect(breakerGate(open, T0 + 59_999)).toEqual({ action: 'WAIT', untilMs: T0 + 60_000 });
  });

  it('lets exactly one probe go once the cooldown is over, moving to HALF_OPEN', () => {
    const open = openBreaker();
    const g = breakerGate(open, T0 + 60_000);
    expect(g).toEqual({
      action: 'PROBE',
      state: { ...open, state: 'HALF_OPEN', openUntilMs: T0 + 60_000 + PROBE_LEASE_MS },
    });
  });

  it('keeps the cooldown when a straggler request fails while open', () => {
    const open = openBreaker();
    const r = recordFailure(open, S, T0 + 10_000);
    expect(r.transition).toBeNull();
    expect(r.disableEndpoint).toBe(false);
    expect(r.state).toEqual({ ...open, consecutiveFailures: 4 });
  });

  it('closes when a straggler request succeeds while open', () => {
    const r = recordSuccess(openBreaker(), S, T0 + 10_000);
    expect(r).toEqual({ state: initialBreakerState(), transition: { from: 'OPEN', to: 'CLOSED' }, disableEndpoint: false });
  });

  it('probes when the state is open without a cooldown end (defensive)', () => {
    const odd: BreakerState = { ...openBreaker(), openUntilMs: null };
    expect(breakerGate(odd, T0).action).toBe('PROBE');
  });
});

describe('HALF_OPEN', () => {
  it('makes other deliveries wait while the probe is outstanding', () => {
    const half = probe(openBreaker(), T0 + 60_000);
    expect(breakerGate(half, T0 + 60_001)).toEqual({ action: 'WAIT', untilMs: T0 + 60_000 + PROBE_LEASE_MS });
  });

  it('allows a new probe when the outstanding one never reported back within its lease', () => {
    const half = probe(openBreaker(), T0 + 60_000);
    const later = T0 + 60_000 + PROBE_LEASE_MS;
    expect(breakerGate(half, later)).toEqual({
      action: 'PROBE',
      state: { ...half, openUntilMs: later + PROBE_LEASE_MS },
    });
  });

  it('closes on the probe succeeding and forgets the failures and the streak', () => {
    const half = probe(openBreaker(), T0 + 60_000);
    const r = recordSuccess(half, S, T0 + 61_000);
    expect(r).toEqual({ state: initialBreakerState(), transition: { from: 'HALF_OPEN', to: 'CLOSED' }, disableEndpoint: false });
    expect(breakerGate(r.state, T0 + 61_000)).toEqual({ action: 'SEND' });
  });

  it('reopens on the probe failing with a doubled cooldown and the same streak start', () => {
    const half = probe(openBreaker(), T0 + 60_000);
    const r = recordFailure(half, S, T0 + 61_000);
    expect(r.transition).toEqual({ from: 'HALF_OPEN', to: 'OPEN' });
    expect(r.disableEndpoint).toBe(false);
    expect(r.state).toEqual({
      state: 'OPEN',
      consecutiveFailures: 4,
      openedAtMs: T0,
      openUntilMs: T0 + 61_000 + 120_000,
      currentCooldownSeconds: 120,
    });
  });

  it('doubles the cooldown on every failed probe up to the 1 h cap', () => {
    let state = openBreaker();
    let now = T0;
    const cooldowns: number[] = [];
    for (let i = 0; i < 9; i++) {
      now = state.openUntilMs!;
      state = recordFailure(probe(state, now), S, now + 1000).state;
      cooldowns.push(state.currentCooldownSeconds!);
    }
    expect(cooldowns).toEqual([120, 240, 480, 960, 1920, 3600, 3600, 3600, 3600]);
    expect(MAX_COOLDOWN_SECONDS).toBe(3600);
  });

  it('starts a new streak after a success', () => {
    const half = probe(openBreaker(), T0 + 60_000);
    const closed = recordSuccess(half, S, T0 + 61_000).state;
    const reopened = failTimes(3, S, closed, T0 + DAY).state;
    expect(reopened.openedAtMs).toBe(T0 + DAY);
    expect(reopened.currentCooldownSeconds).toBe(60);
  });

  it('falls back to the configured cooldown when none is recorded', () => {
    const half: BreakerState = { ...probe(openBreaker(), T0 + 60_000), currentCooldownSeconds: null };
    expect(recordFailure(half, S, T0 + 61_000).state.currentCooldownSeconds).toBe(120);
  });
});

describe('5-day auto-disable', () => {
  it('asks to disable an endpoint whose open streak began at least 5 days ago', () => {
    expect(AUTO_DISABLE_AFTER_MS).toBe(5 * DAY);
    const open = openBreaker();
    const justBefore = T0 + 5 * DAY - 1;
    expect(recordFailure(probe(open, justBefore), S, justBefore).disableEndpoint).toBe(false);
    expect(recordFailure(probe(open, T0 + 5 * DAY), S, T0 + 5 * DAY).disableEndpoint).toBe(true);
    expect(recordFailure(open, S, T0 + 6 * DAY).disableEndpoint).toBe(true);
  });

  it('reaches the disable through a realistic run of failing probes', () => {
    let state = openBreaker();
    let disabledAt: number | null = null;
    for (let i = 0; i < 500 && disabledAt === null; i++) {
      const now = state.openUntilMs!;
      const r = recordFailure(probe(state, now), S, now + 500);
      state = r.state;
      if (r.disableEndpoint) disabledAt = now + 500;
    }
    expect(disabledAt).not.toBeNull();
    // Probes come at most an hour apart, so the disable lands within an hour of day 5.
    expect(disabledAt! - T0).toBeGreaterThanOrEqual(5 * DAY);
    expect(disabledAt! - T0).toBeLessThan(5 * DAY + 3600_000 + PROBE_LEASE_MS);
  });

  it('never asks on success', () => {
    const half = probe(openBreaker(), T0 + 10 * DAY);
    expect(recordSuccess(half, S, T0 + 10 * DAY).disableEndpoint).toBe(false);
  });
});

describe('disabled breaker (enabled: false)', () => {
  const OFF = { ...S, enabled: false };

  it('never opens however many failures', () => {
    const r = failTimes(1000, OFF);
    expect(r.state.state).toBe('CLOSED');
    expect(r.state.consecutiveFailures).toBe(1000);
    expect(r.transition).toBeNull();
    expect(r.disableEndpoint).toBe(false);
  });

  it('closes a breaker that was open when it got switched off', () => {
    const r = recordFailure(openBreaker(), OFF, T0 + 6 * DAY);
    expect(r.state.state).toBe('CLOSED');
    expect(r.transition).toEqual({ from: 'OPEN', to: 'CLOSED' });
    expect(r.disableEndpoint).toBe(false);
  });

  it('lets deliveries through at the gate when settings say it is off', () => {
    expect(breakerGate(openBreaker(), T0, OFF)).toEqual({ action: 'SEND' });
    expect(breakerGate(openBreaker(), T0, S).action).toBe('WAIT');
  });
});

describe('invariants over random histories', () => {
  const ALLOWED = new Set(['CLOSED>OPEN', 'HALF_OPEN>OPEN', 'HALF_OPEN>CLOSED', 'OPEN>CLOSED']);
  const step = fc.record({ kind: fc.constantFrom('gate', 'success', 'failure'), dt: fc.integer({ min: 0, max: 4_000_000 }) });

  it('property: states stay consistent and transitions follow the SPEC graph', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 1, max: 3600 }),
        fc.array(step, { maxLength: 80 }),
        (failureThreshold, cooldownSeconds, steps) => {
          const settings = { enabled: true, failureThreshold, cooldownSeconds };
          let state = initialBreakerState();
          let now = T0;
          for (const s of steps) {
            now += s.dt;
            const before: CircuitState = state.state;
            if (s.kind === 'gate') {
              const g = breakerGate(state, now);
              if (g.action === 'SEND') expect(before).toBe('CLOSED');
              if (g.action === 'WAIT') expect(g.untilMs).toBeGreaterThan(now);
              if (g.action === 'PROBE') {
                expect(before).not.toBe('CLOSED');
                state = g.state;
              }
            } else {
              const r = s.kind === 'success' ? recordSuccess(state, settings, now) : recordFailure(state, settings, now);
              if (r.transition) {
                expect(r.transition.from).toBe(before);
                expect(r.transition.to).toBe(r.state.state);
                expect(ALLOWED.has(`${r.transition.from}>${r.transition.to}`)).toBe(true);
              } else {
                expect(r.state.state).toBe(before);
              }
              state = r.state;
            }
            if (state.state === 'CLOSED') {
              expect(state.openedAtMs).toBeNull();
              expect(state.consecutiveFailures).toBeLessThan(failureThreshold);
            } else {
              expect(state.openedAtMs).not.toBeNull();
              expect(state.currentCooldownSeconds).toBeGreaterThanOrEqual(cooldownSeconds);
              expect(state.currentCooldownSeconds).toBeLessThanOrEqual(MAX_COOLDOWN_SECONDS);
              expect(state.consecutiveFailures).toBeGreaterThanOrEqual(failureThreshold);
            }
          }
        },
      ),
    );
  });
});

describe('validateBreakerSettings', () => {
  it('accepts the defaults and the range edges', () => {
    expect(validateBreakerSettings({ enabled: true, failureThreshold: 10, cooldownSeconds: 60 })).toEqual([]);
    expect(validateBreakerSettings({ enabled: false, failureThreshold: 1, cooldownSeconds: 1 })).toEqual([]);
    expect(validateBreakerSettings({ enabled: true, failureThreshold: 1000, cooldownSeconds: 3600 })).toEqual([]);
  });

  it('names each bad field with its allowed range', () => {
    expect(validateBreakerSettings({ enabled: true, failureThreshold: 0, cooldownSeconds: 60 })).toEqual([
      'failureThreshold must be a whole number between 1 and 1000 (got 0)',
    ]);
    expect(validateBreakerSettings({ enabled: true, failureThreshold: 1001, cooldownSeconds: 3601 })).toEqual([
      'failureThreshold must be a whole number between 1 and 1000 (got 1001)',
      'cooldownSeconds must be a whole number between 1 and 3600 (got 3601)',
    ]);
    expect(validateBreakerSettings({ enabled: true, failureThreshold: 2.5, cooldownSeconds: 0 })).toHaveLength(2);
    expect(validateBreakerSettings({ enabled: 'yes' as unknown as boolean, failureThreshold: 10, cooldownSeconds: 60 })).toEqual([
      'enabled must be true or false',
    ]);
  });
});
