/**
 * Idempotency-Key rules for HTTP mutations: which keys are valid, what makes two requests "the
 * same request", and which first responses are kept for replay. Pure (node:crypto hashes only).
 */
import { createHash } from 'node:crypto';

/** How long a key is remembered: a retry within this window gets the first response. */
export const IDEMPOTENCY_TTL_MS = 24 * 3600_000;
export const IDEMPOTENCY_KEY_MAX_LENGTH = 255;

// Visible ASCII only: keys travel in an HTTP header and are shown back in error messages.
const KEY_RE = /^[\x21-\x7e]+$/;

/** Why `key` cannot be an Idempotency-Key, or null when it can. */
export function idempotencyKeyProblem(key: string): string | null {
  if (key.length === 0 || key.length > IDEMPOTENCY_KEY_MAX_LENGTH || !KEY_RE.test(key)) {
    return `The Idempotency-Key header must be 1 to ${IDEMPOTENCY_KEY_MAX_LENGTH} visible ASCII characters without spaces (e.g. a UUID).`;
  }
  return null;
}

/**
 * JSON with object keys sorted at every level, so `{a, b}` and `{b, a}` are one request. Written
 * without recursion: a caller's JSON may be nested deeper than the call stack allows (the request
 * body is parsed without a depth limit), and that must not become an internal error.
 */
export function canonicalJson(value: unknown): string {
  const out: string[] = [];
  // Pending work, popped from the end: raw text, or a value still to write.
  const stack: ({ text: string } | { value: unknown })[] = [{ value }];
  while (stack.length > 0) {
    const item = stack.pop()!;
    if ('text' in item) {
      out.push(item.text);
      continue;
    }
    const v = item.value;
    if (v === null || typeof v !== 'object') {
      out.push(JSON.stringify(v) ?? 'null');
    } else if (Array.isArray(v)) {
      stack.push({ text: ']' });
      for (let i = v.length - 1; i >= 0; i--) {
        stack.push({ value: v[i] === undefined ? null : v[i] });
        if (i > 0) stack.push({ text: ',' });
      }
      stack.push({ text: '[' });
    } else {
      const entries = Object.entries(v as Record<string, unknown>)
        .filter(([, e]) => e !== undefined)
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      stack.push({ text: '}' });
      for (let i = entries.length - 1; i >= 0; i--) {
        stack.push({ value: entries[i]![1] });
        stack.push({ text: `${JSON.stringify(entries[i]![0])}:` });
        if (i > 0) stack.push({ text: ',' });
      }
      stack.push({ text: '{' });
    }
  }
  return out.join('');
}

/**
 * The fingerprint of a request: its operation text (as printed by graphql-js, so whitespace and
 * comments do not count), the operation name and its variables (key order does not count).
 */
export function requestFingerprint(request: { operation: string; operationName?: string | null; variables?: unknown }): string {
  return createHash('sha256')
    .update(canonicalJson([request.operation, request.operationName ?? null, request.variables ?? {}]))
    .digest('hex');
}

/** Error codes that say "nothing was done, try again": a response made only of these is not kept. */
const RETRYABLE_CODES: ReadonlySet<string> = new Set(['INTERNAL_SERVER_ERROR', 'RATE_LIMITED']);

/**
 * Whether a first response is kept for replay. Kept: successes, and expected failures (bad input,
 * forbidden, not found), which a retry would meet again. Not kept (the key is released so a retry
 * runs): a response in which no root field produced data and an error says the failure was
 * transient (an infrastructure fault, a rate limit).
 */
export function keepResponse(result: { data?: Record<string, unknown> | null; errors?: readonly { extensions?: { code?: unknown } }[] }): boolean {
  const errors = result.errors ?? [];
  if (errors.length === 0) return true;
  const someData = result.data != null && Object.values(result.data).some((v) => v !== null && v !== undefined);
  if (someData) return true;
  return !errors.some((e) => RETRYABLE_CODES.has(String(e.extensions?.code ?? 'INTERNAL_SERVER_ERROR')));
}

/** What a request with an already-claimed key gets, from the stored claim. */
export type ClaimVerdict = 'REPLAY' | 'WAIT' | 'DIFFERENT_REQUEST' | 'OTHER_API_KEY' | 'ABANDONED';

/** Judges a stored claim against a new request with the same key. */
export function judgeClaim(
  claim: { state: 'RUNNING' | 'DONE'; requestHash: string; apiKeyId: string; leaseUntilMs: number | null },
  request: { requestHash: string; apiKeyId: string },
  nowMs: number,
): ClaimVerdict {
  if (claim.apiKeyId !== request.apiKeyId) return 'OTHER_API_KEY';
  if (claim.requestHash !== request.requestHash) return 'DIFFERENT_REQUEST';
  if (claim.state === 'DONE') return 'REPLAY';
  return claim.leaseUntilMs !== null && claim.leaseUntilMs > nowMs ? 'WAIT' : 'ABANDONED';
}

/** The message of an IDEMPOTENCY_CONFLICT for each verdict that is one. */
export function conflictMessage(verdict: Exclude<ClaimVerdict, 'REPLAY' | 'WAIT'> | 'STILL_RUNNING', key: string): string {
  const shown = JSON.stringify(key.length > 60 ? `${key.slice(0, 57)}...` : key);
  switch (verdict) {
    case 'DIFFERENT_REQUEST':
      return `Idempotency-Key ${shown} was used within the last 24 hours for a different request; a key stands for one request. Send a new key for a new request.`;
    case 'OTHER_API_KEY':
      return `Idempotency-Key ${shown} was used within the last 24 hours by another API key of this organization; its response is kept for that key only. Send a new key.`;
    case 'ABANDONED':
      return `The request first sent with Idempotency-Key ${shown} stopped before it finished (the server restarted); it may or may not have taken effect. Check, then send the request with a new key.`;
    case 'STILL_RUNNING':
      return `The request first sent with Idempotency-Key ${shown} is still running; retry the same request later to get its response.`;
  }
}
