import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { admit, completed, emptyWindow, fullWindow, notSent, unused, WINDOW_MS } from '../../server/domain/sendWindow.js';

describe('send window (rateLimitPerSecond as receivers count it)', () => {
  it('admits up to the limit at once, then nothing until a slot cools down after its completion', () => {
    const w = emptyWindow();
    expect(admit(w, 5, 0, 10)).toEqual({ granted: 5, retryAtMs: null });
    // All five in flight: only a completion frees a slot.
    expect(admit(w, 5, 10, 1)).toEqual({ granted: 0, retryAtMs: null });
    completed(w, 100);
    expect(admit(w, 5, 200, 1)).toEqual({ granted: 0, retryAtMs: 100 + WINDOW_MS + 1 });
    expect(admit(w, 5, 100 + WINDOW_MS + 1, 3)).toEqual({ granted: 1, retryAtMs: null });
  });

  it('gives back what a lease did not use and what was never sent', () => {
    const w = emptyWindow();
    expect(admit(w, 4, 0, 4).granted).toBe(4);
    unused(w, 3);
    notSent(w);
    expect(admit(w, 4, 1, 4).granted).toBe(4);
  });

  it('starts full after a takeover: nothing for a second', () => {
    const w = fullWindow(3, 1000);
    expect(admit(w, 3, 1500, 1)).toEqual({ granted: 0, retryAtMs: 1000 + WINDOW_MS + 1 });
    expect(admit(w, 3, 2001, 5).granted).toBe(3);
  });

  it('waits for enough slots to cool when the limit was lowered', () => {
    const w = emptyWindow();
    admit(w, 10, 0, 10);
    for (let i = 0; i < 10; i++) completed(w, i * 10);
    // Limit now 5: ten slots cooling; the sixth to cool brings the count under the limit.
    expect(admit(w, 5, 100, 1)).toEqual({ granted: 0, retryAtMs: 50 + WINDOW_MS + 1 });
  });

  it('never lets more than the limit arrive in any one-second window, whatever the latencies (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 8 }),
        fc.array(fc.record({ gap: fc.integer({ min: 0, max: 400 }), latency: fc.integer({ min: 0, max: 900 }), arriveAt: fc.double({ min: 0, max: 1, noNaN: true }) }), {
          minLength: 1,
          maxLength: 120,
        }),
        (limit, steps) => {
          const w = emptyWindow();
          let now = 0;
          const inFlight: { doneAt: number }[] = [];
          const arrivals: number[] = [];
          for (const step of steps) {
            now += step.gap;
            // Completions due by now, in time order.
            inFlight.sort((a, b) => a.doneAt - b.doneAt);
            while (inFlight.length && inFlight[0]!.doneAt <= now) completed(w, inFlight.shift()!.doneAt);
            const { granted } = admit(w, limit, now, 1);
            if (granted === 1) {
              // The request reaches the receiver somewhere between its start and its completion.
              arrivals.push(now + Math.floor(step.latency * step.arriveAt));
              inFlight.push({ doneAt: now + step.latency });
            }
          }
          arrivals.sort((a, b) => a - b);
          for (let i = 0; i + limit < arrivals.length; i++) expect(arrivals[i + limit]! - arrivals[i]!).toBeGreaterThanOrEqual(WINDOW_MS);
        },
      ),
      { numRuns: 300 },
    );
  });
});
