/**
 * Retry timing (SPEC §6): attempt n+1 waits min(initial × multiplier^(n-1), max) with ±20%
 * jitter, a Retry-After from the endpoint stretches the wait, and after maxAttempts the
 * delivery is dead. Pure: `random` and `nowMs` come from the caller.
 */

/** Per-endpoint retry settings. */
export interface RetryPolicy {
  initialBackoffSeconds: number;
  multiplier: number;
  maxBackoffSeconds: number;
  maxAttempts: number;
}

/** The SPEC §3 defaults: 5 s, ×6, capped at 10 h, 8 attempts. */
export const DEFAULT_RETRY_POLICY: Readonly<RetryPolicy> = Object.freeze({
  initialBackoffSeconds: 5,
  multiplier: 6,
  maxBackoffSeconds: 36_000,
  maxAttempts: 8,
});

export const RETRY_POLICY_LIMITS = {
  initialBackoffSeconds: { min: 1, max: 3600 },
  multiplier: { min: 1, max: 10 },
  maxBackoffSeconds: { max: 86_400 },
  maxAttempts: { min: 1, max: 50 },
} as const;

const JITTER = 0.2;

/** Nominal (jitter-free) wait in seconds before attempt `attemptsMade + 1`. */
export function nominalDelaySeconds(policy: RetryPolicy, attemptsMade: number): number {
  return Math.min(policy.initialBackoffSeconds * policy.multiplier ** (attemptsMade - 1), policy.maxBackoffSeconds);
}

/** Milliseconds to wait before the next attempt, or null when the delivery is dead (attempts exhausted). */
export function retryDelayMs(
  policy: RetryPolicy,
  attemptsMade: number,
  random: number,
  retryAfterSeconds?: number | null,
): number | null {
  if (!Number.isInteger(attemptsMade) || attemptsMade < 1) {
    throw new RangeError(`attemptsMade must be an integer ≥ 1 (got ${attemptsMade})`);
  }
  if (!(random >= 0 && random < 1)) throw new RangeError(`random must be in [0, 1) (got ${random})`);
  if (attemptsMade >= policy.maxAttempts) return null;

  const jittered = nominalDelaySeconds(policy, attemptsMade) * (1 - JITTER + 2 * JITTER * random);
  let seconds = Math.min(jittered, policy.maxBackoffSeconds);
  if (retryAfterSeconds != null && retryAfterSeconds > 0) {
    // The endpoint asked for a pause; honour it, but never beyond our own ceiling.
    seconds = Math.max(seconds, Math.min(retryAfterSeconds, policy.maxBackoffSeconds));
  }
  return Math.round(seconds * 1000);
}

const MONTHS: Record<string, number> = {
  Jan: 0, Feb: 1, Mar: 2, Apr: 3, May: 4, Jun: 5, Jul: 6, Aug: 7, Sep: 8, Oct: 9, Nov: 10, Dec: 11,
};
// RFC 9110 §5.6.7 HTTP-date forms; parsed by hand because Date.parse accepts almost anything
// and reads the zone-less asctime form in local time.
const IMF_FIXDATE = /^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), (\d{2}) ([A-Z][a-z]{2}) (\d{4}) (\d{2}):(\d{2}):(\d{2}) GMT$/;
const RFC850_DATE =
  /^(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday), (\d{2})-([A-Z][a-z]{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2}) GMT$/;
const ASCTIME_DATE = /^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) ([A-Z][a-z]{2}) ([ \d]\d) (\d{2}):(\d{2}):(\d{2}) (\d{4})$/;

function utcMs(year: number, monthName: string, day: number, h: number, m: number, s: number): number | null {
  const month = MONTHS[monthName];
  if (month === undefined || day < 1 || day > 31 || h > 23 || m > 59 || s > 60) return null;
  const ms = Date.UTC(year, month, day, h, m, Math.min(s, 59));
  // Reject impossible days such as 31 Feb, which Date.UTC would roll into March.
  return new Date(ms).getUTCDate() === day ? ms : null;
}

/** Parses an HTTP-date (IMF-fixdate, RFC 850 or asctime) to epoch ms, or null. */
export function parseHttpDate(value: string, nowMs: number): number | null {
  let m = IMF_FIXDATE.exec(value);
  if (m) return utcMs(Number(m[3]), m[2]!, Number(m[1]), Number(m[4]), Number(m[5]), Number(m[6]));
  m = RFC850_DATE.exec(value);
  if (m) {
    // RFC 9110: a two-digit year more than 50 years in the future means the previous century.
    const nowYear = new Date(nowMs).getUTCFullYear();
    let year = Math.floor(nowYear / 100) * 100 + Number(m[3]);
    if (year > nowYear + 50) year -= 100;
    return utcMs(year, m[2]!, Number(m[1]), Number(m[4]), Number(m[5]), Number(m[6]));
  }
  m = ASCTIME_DATE.exec(value);
  if (m) return utcMs(Number(m[6]), m[1]!, Number(m[2]!.trim()), Number(m[3]), Number(m[4]), Number(m[5]));
  return null;
}

/** Seconds a `Retry-After` header asks us to wait (delta-seconds or HTTP-date); null if absent or invalid, past → 0. */
export function parseRetryAfter(headerValue: string | undefined | null, nowMs: number): number | null {
  if (typeof headerValue !== 'string') return null;
  const value = headerValue.trim();
  if (value === '') return null;
  if (/^-?\d+$/.test(value)) return Math.max(0, Number(value));
  const dateMs = parseHttpDate(value, nowMs);
  if (dateMs === null) return null;
  return Math.max(0, Math.ceil((dateMs - nowMs) / 1000));
}

function show(value: unknown): string {
  return typeof value === 'number' ? String(value) : JSON.stringify(value) ?? String(value);
}

function checkInteger(problems: string[], name: string, value: unknown, min: number, max: number): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    problems.push(`${name} must be a whole number between ${min} and ${max} (got ${show(value)})`);
  }
}

/** Human-readable problems with a retry policy, each naming the allowed range; empty when valid. */
export function validateRetryPolicy(p: RetryPolicy): string[] {
  const problems: string[] = [];
  const L = RETRY_POLICY_LIMITS;
  checkInteger(problems, 'initialBackoffSeconds', p.initialBackoffSeconds, L.initialBackoffSeconds.min, L.initialBackoffSeconds.max);
  if (typeof p.multiplier !== 'number' || !Number.isFinite(p.multiplier) || p.multiplier < L.multiplier.min || p.multiplier > L.multiplier.max) {
    problems.push(`multiplier must be between ${L.multiplier.min} and ${L.multiplier.max} (got ${show(p.multiplier)})`);
  }
  const initialOk = typeof p.initialBackoffSeconds === 'number' && Number.isInteger(p.initialBackoffSeconds) && p.initialBackoffSeconds >= L.initialBackoffSeconds.min;
  const minMax = initialOk ? Math.min(p.initialBackoffSeconds, L.maxBackoffSeconds.max) : L.initialBackoffSeconds.min;
  if (typeof p.maxBackoffSeconds !== 'number' || !Number.isInteger(p.maxBackoffSeconds) || p.maxBackoffSeconds < minMax || p.maxBackoffSeconds > L.maxBackoffSeconds.max) {
    const lower = initialOk ? `initialBackoffSeconds (${p.initialBackoffSeconds})` : String(minMax);
    problems.push(`maxBackoffSeconds must be a whole number between ${lower} and ${L.maxBackoffSeconds.max} (got ${show(p.maxBackoffSeconds)})`);
  }
  checkInteger(problems, 'maxAttempts', p.maxAttempts, L.maxAttempts.min, L.maxAttempts.max);
  return problems;
}
