/**
 * Chaos receivers (fast part, a few hundred deliveries): see chaos.ts. The seed is printed and
 * can be replayed with FAULTS_SEED.
 */
import { describe, expect, it } from 'vitest';
import { runChaos } from './chaos.js';
import { recordFigures } from './support.js';

const SEED = Number(process.env.FAULTS_SEED ?? Date.now() % 1_000_000);

describe('chaos receivers (a few hundred deliveries)', () => {
  it('every delivery ends SUCCEEDED or DEAD and attempts reconcile exactly with what the receivers saw', async () => {
    const figures = await runChaos({ seed: SEED, events: 48, mixedEndpoints: 5, maxAttempts: 4, transportEvents: 8, goneEvents: 12, timeoutMs: 2000 });
    recordFigures('chaos', figures);
    expect(figures.lost).toBe(0);
    expect(figures.deliveries).toBeGreaterThanOrEqual(300);
  }, 120_000);
});
