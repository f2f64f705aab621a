import { describe, expect, it } from 'vitest';
import { assessEndpointHealth, HEALTH_RULES, isPausedByHand, NEEDS_ATTENTION, type EndpointHealthInput } from '../../server/domain/endpointHealth.js';

const base: EndpointHealthInput = {
  active: true,
  disabledReason: null,
  circuitState: 'CLOSED',
  consecutiveFailures: 0,
  recent: { attempts: 0, failures: 0, lastAttemptAt: null },
};
const at = new Date('2026-12-01T10:00:00Z');
const recent = (attempts: number, failures: number) => ({ ...base, recent: { attempts, failures, lastAttemptAt: at } });

describe('assessEndpointHealth', () => {
  it('is HEALTHY without traffic, with a null rate', () => {
    expect(assessEndpointHealth(base)).toMatchObject({ status: 'HEALTHY', recentFailureRate: null, reason: 'No attempts in the last 24 hours.' });
  });

  it('is FAILING when every recent attempt failed, even with the circuit closed (breaker off)', () => {
    const h = assessEndpointHealth(recent(100, 100));
    expect(h).toMatchObject({ status: 'FAILING', recentFailureRate: 1, recentAttempts: 100, recentFailures: 100, lastAttemptAt: at });
    expect(h.reason).toBe('100 of the last 100 attempts failed (100%).');
  });

  it.each([
    [100, 9, 'HEALTHY'],
    [100, 10, 'DEGRADED'],
    [100, 49, 'DEGRADED'],
    [100, 50, 'FAILING'],
    [5, 3, 'FAILING'],
    // Below the minimum sample the rate says nothing (the streak still does).
    [4, 2, 'HEALTHY'],
  ] as const)('%i attempts, %i failed → %s', (attempts, failures, status) => {
    expect(assessEndpointHealth(recent(attempts, failures)).status).toBe(status);
  });

  it('counts the failure streak when the sample is small', () => {
    expect(assessEndpointHealth({ ...recent(3, 3), consecutiveFailures: HEALTH_RULES.degradedStreak })).toMatchObject({ status: 'DEGRADED', reason: 'The last 3 attempts failed.' });
    expect(assessEndpointHealth({ ...recent(4, 4), consecutiveFailures: HEALTH_RULES.failingStreak })).toMatchObject({ status: 'FAILING' });
  });

  it('puts pause, disable and the circuit before the rate', () => {
    const failing = recent(100, 100);
    expect(assessEndpointHealth({ ...failing, active: false, disabledReason: 'Paused by "ops"' })).toMatchObject({ status: 'PAUSED', reason: 'Paused by "ops"' });
    expect(assessEndpointHealth({ ...failing, active: false, disabledReason: 'The endpoint answered 410 Gone on …' }).status).toBe('DISABLED');
    expect(assessEndpointHealth({ ...failing, circuitState: 'OPEN', consecutiveFailures: 10 })).toMatchObject({ status: 'CIRCUIT_OPEN', reason: expect.stringContaining('10 consecutive failures') });
    expect(assessEndpointHealth({ ...failing, circuitState: 'HALF_OPEN' }).status).toBe('PROBING');
  });

  it('marks what needs attention', () => {
    expect([...NEEDS_ATTENTION].sort()).toEqual(['CIRCUIT_OPEN', 'DEGRADED', 'DISABLED', 'FAILING', 'PROBING']);
    expect(isPausedByHand(null)).toBe(true);
    expect(isPausedByHand('Paused by "x"')).toBe(true);
    expect(isPausedByHand('The circuit breaker stayed open for 5 days.')).toBe(false);
  });
});
