import type { Sql } from 'postgres';

/** A key's last_used_at is refreshed at most this often (it is informative, not an audit trail). */
const TOUCH_INTERVAL_MS = 60_000;
/** Keys used since the last write are written together this long after the first of them. */
const FLUSH_DELAY_MS = 1_000;
/** Keys remembered as recently touched, at most (past it the oldest is written again sooner). */
const REMEMBERED_MAX = 100_000;

/**
 * Records API key use (api_keys.last_used_at) in one UPDATE per second for every key used since,
 * instead of one per key. A platform publishing for thousands of organizations, each with its own
 * key, makes most calls the first use of their key in a minute: the per-key UPDATE was a write
 * transaction (and a WAL flush) beside nearly every publish. last_used_at is up to a second late.
 */
export function createApiKeyTouches(deps: { sql: Sql; onError?: (err: unknown) => void; flushDelayMs?: number }) {
  const flushDelayMs = deps.flushDelayMs ?? FLUSH_DELAY_MS;
  /** When each key was last queued for a write, oldest first (so a busy key is written once a minute). */
  const lastTouched = new Map<string, number>();
  let pending = new Set<string>();
  let timer: NodeJS.Timeout | null = null;
  let writing: Promise<void> = Promise.resolve();

  /** Drops keys from the front (oldest) while they are past the interval or too many are kept. */
  function forgetStale(nowMs: number): void {
    for (const [id, at] of lastTouched) {
      if (at + TOUCH_INTERVAL_MS > nowMs && lastTouched.size <= REMEMBERED_MAX) break;
      lastTouched.delete(id);
    }
  }

  async function write(ids: string[]): Promise<void> {
    try {
      await deps.sql`UPDATE api_keys SET last_used_at = now() WHERE id = ANY(${ids}::text[])`;
    } catch (err) {
      deps.onError?.(err);
    }
  }

  /** Writes every key queued so far; resolves once that write (and any before it) is done. */
  function flush(): Promise<void> {
    if (timer) clearTimeout(timer);
    timer = null;
    if (pending.size > 0) {
      const ids = [...pending];
      pending = new Set();
      writing = writing.then(() => write(ids));
    }
    return writing;
  }

  return {
    /** Notes a use of `apiKeyId` at `nowMs`; written within a second unless written in the last minute. */
    touch(apiKeyId: string, nowMs: number): void {
      if ((lastTouched.get(apiKeyId) ?? -Infinity) + TOUCH_INTERVAL_MS > nowMs) return;
      lastTouched.delete(apiKeyId); // re-inserted at the back: the map stays in touch order
      lastTouched.set(apiKeyId, nowMs);
      forgetStale(nowMs);
      pending.add(apiKeyId);
      if (!timer) {
        timer = setTimeout(() => void flush(), flushDelayMs);
        timer.unref();
      }
    },
    flush,
    /** Keys waiting for the next write (tests, metrics). */
    pendingCount: () => pending.size,
  };
}
export type ApiKeyTouches = ReturnType<typeof createApiKeyTouches>;
