/**
 * Chaos receivers (slow part, thousands of deliveries, `npm run test:faults` only): the scenario
 * of chaos.ts at a larger scale. The seed is printed and can be replayed with FAULTS_SEED.
 */
import { describe, expect, it } from 'vitest';
import { runChaos } from './chaos.js';
import { recordFigures } from './support.js';

const SEED = Number(process.env.FAULTS_SEED ?? Date.now() % 1_000_000);

describe('chaos receivers (thousands of deliveries)', () => {
  it('every delivery ends SUCCEEDED or DEAD and attempts reconcile exactly with what the receivers saw', async () => {
    const figures = await runChaos({ seed: SEED, events: 300, mixedEndpoints: 8, maxAttempts: 5, transportEvents: 40, goneEvents: 60, timeoutMs: 2000 });
    recordFigures('chaosSlow', figures);
    expect(figures.lost).toBe(0);
    expect(figures.deliveries).toBeGreaterThanOrEqual(2_500);
  }, 300_000);
});
