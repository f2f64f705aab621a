import { LRUCache } from 'lru-cache';

/**
 * Counts failures per key (a client address) in a fixed window from the first one; a key with
 * `perWindow` failures is blocked until its window ends. At most `maxKeys` keys are tracked
 * (least recently failed dropped first), so a flood of addresses cannot grow memory.
 */
export function createFailureLimiter(options: { perWindow: number; windowMs: number; maxKeys?: number }) {
  const windows = new LRUCache<string, { count: number }>({ max: options.maxKeys ?? 100_000, ttl: options.windowMs });
  return {
    isBlocked(key: string): boolean {
      return (windows.get(key)?.count ?? 0) >= options.perWindow;
    },
    recordFailure(key: string): void {
      const window = windows.get(key);
      // Counted in place: the window's time-to-live runs from its first failure.
      if (window) window.count++;
      else windows.set(key, { count: 1 });
    },
    /** How long `key` stays blocked, in ms (0 when it is not). */
    retryAfterMs(key: string): number {
      return windows.has(key) ? Math.max(0, windows.getRemainingTTL(key)) : 0;
    },
  };
}
