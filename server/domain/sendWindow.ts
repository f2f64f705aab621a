/**
 * `rateLimitPerSecond` as receivers count it: at most `limit` requests in ANY one-second window.
 *
 * A token bucket does not give that: it starts full and refills meanwhile, so a limit of 5 let 11
 * requests arrive within one second (5 from the full bucket, 5 refilled, one more at the edge), and
 * a receiver enforcing its own limit answered 429. Here the limit is `limit` slots. A request holds
 * a slot from the moment it is admitted until one second (plus a millisecond of margin) after it
 * *completed*. Every request reaches the receiver between its admission and its completion, so two
 * requests that used the same slot arrive at least a second apart, and `limit` slots can never put
 * more than `limit` requests in one second, whatever the network does in between.
 *
 * State is a count of requests in flight and the release times of slots cooling down, in order.
 * Pure: the caller passes the clock.
 */
export interface SendWindow {
  /** Admitted and not yet completed. */
  inFlight: number;
  /** Release times (ms) of slots whose request completed, ascending. */
  cooling: number[];
}

/** A slot is reusable this long after its request completed. */
export const WINDOW_MS = 1000;
const MARGIN_MS = 1;

/** A window with nothing sent. */
export function emptyWindow(): SendWindow {
  return { inFlight: 0, cooling: [] };
}

/**
 * A window as a process that just took the endpoint over must assume it: every slot possibly used
 * by the previous owner a moment ago (it may have died with requests on the wire).
 */
export function fullWindow(limit: number, nowMs: number): SendWindow {
  return { inFlight: 0, cooling: Array.from({ length: limit }, () => nowMs + WINDOW_MS + MARGIN_MS) };
}

/** Drops slots whose cooling is over. */
function expire(window: SendWindow, nowMs: number): void {
  let n = 0;
  while (n < window.cooling.length && window.cooling[n]! <= nowMs) n++;
  if (n > 0) window.cooling.splice(0, n);
}

/**
 * How many requests may start now (at most `wanted`), and if none, when the next slot frees up
 * (null: only a completion frees one). Admitted requests are counted in flight.
 */
export function admit(window: SendWindow, limit: number, nowMs: number, wanted: number): { granted: number; retryAtMs: number | null } {
  expire(window, nowMs);
  const free = Math.max(0, limit - window.inFlight - window.cooling.length);
  const granted = Math.min(free, Math.max(0, wanted));
  window.inFlight += granted;
  if (granted > 0 || wanted <= 0) return { granted, retryAtMs: null };
  // Over the limit (the limit was lowered) or all slots busy: a cooling slot frees first, if any.
  const excess = window.inFlight + window.cooling.length - limit;
  const index = Math.max(0, excess);
  return { granted: 0, retryAtMs: index < window.cooling.length ? window.cooling[index]! : null };
}

/** Gives back admitted slots that were not used (the lease found fewer jobs). */
export function unused(window: SendWindow, count: number): void {
  window.inFlight = Math.max(0, window.inFlight - count);
}

/** A request admitted earlier completed (or was abandoned) at `completedAtMs`. */
export function completed(window: SendWindow, completedAtMs: number): void {
  window.inFlight = Math.max(0, window.inFlight - 1);
  const releaseAt = completedAtMs + WINDOW_MS + MARGIN_MS;
  const list = window.cooling;
  // Completions come in clock order, so this is almost always an append.
  let i = list.length;
  while (i > 0 && list[i - 1]! > releaseAt) i--;
  list.splice(i, 0, releaseAt);
}

/** A request admitted earlier was never sent (breaker opened, nothing to send): its slot is free. */
export function notSent(window: SendWindow): void {
  unused(window, 1);
}
