import { afterEach, describe, expect, it, vi } from 'vitest';
import { createDueTimers } from '../../server/engine/worker/dueTimers.js';

afterEach(() => vi.useRealTimers());

describe('due timers', () => {
  it('fires each endpoint once at its earliest armed time, in time order', () => {
    vi.useFakeTimers({ now: 0 });
    const fired: string[][] = [];
    const timers = createDueTimers((ids) => fired.push(ids));
    timers.arm('b', 200);
    timers.arm('a', 100);
    timers.arm('a', 150); // later than armed: kept at 100
    timers.arm('c', 50);
    timers.arm('c', 20); // earlier: replaces 50
    expect(timers.armedAt('a')).toBe(100);
    expect(timers.size()).toBe(3);
    vi.advanceTimersByTime(30);
    expect(fired).toEqual([['c']]);
    vi.advanceTimersByTime(200);
    expect(fired).toEqual([['c'], ['a'], ['b']]);
    expect(timers.size()).toBe(0);
    timers.stop();
  });

  it('tells the earliest time among the endpoints it fires together (their jobs are due from then)', () => {
    vi.useFakeTimers({ now: 0 });
    const fired: [string[], number][] = [];
    const timers = createDueTimers((ids, earliestMs) => fired.push([ids, earliestMs]));
    timers.arm('a', 103);
    timers.arm('b', 100);
    timers.arm('c', 400);
    vi.advanceTimersByTime(500);
    expect(fired).toEqual([
      [['b', 'a'], 100],
      [['c'], 400],
    ]);
    timers.stop();
  });

  it('fires times within a few milliseconds together, and nothing once disarmed or stopped', () => {
    vi.useFakeTimers({ now: 0 });
    const fired: string[][] = [];
    const timers = createDueTimers((ids) => fired.push(ids));
    timers.arm('a', 100);
    timers.arm('b', 103);
    timers.arm('c', 300);
    timers.disarm('c');
    vi.advanceTimersByTime(1000);
    expect(fired).toEqual([['a', 'b']]);
    timers.arm('d', 2000);
    timers.stop();
    vi.advanceTimersByTime(5000);
    expect(fired).toHaveLength(1);
  });

  it('re-arms timers beyond what setTimeout can hold', () => {
    vi.useFakeTimers({ now: 0 });
    const fired: string[][] = [];
    const timers = createDueTimers((ids) => fired.push(ids));
    const farMs = 40 * 86_400_000;
    timers.arm('far', farMs);
    vi.advanceTimersByTime(30 * 86_400_000);
    expect(fired).toEqual([]);
    vi.advanceTimersByTime(10 * 86_400_000 + 10);
    expect(fired).toEqual([['far']]);
    timers.stop();
  });

  it('keeps its heap small when endpoints re-arm many times', () => {
    vi.useFakeTimers({ now: 0 });
    const timers = createDueTimers(() => {});
    for (let round = 0; round < 50; round++) for (let i = 0; i < 100; i++) timers.arm(`e${i}`, 1_000_000 - round * 10 - i);
    expect(timers.size()).toBe(100);
    timers.stop();
  });
});
