/**
 * Prefixed, time-ordered identifiers: `<prefix>_<26 chars>`, the 26 chars being a ULID
 * (48-bit millisecond time + 80 random bits in Crockford base32). Sorting ids sorts by
 * creation time, which keyset pagination and "publish order" rely on.
 */
export const ID_PREFIXES = {
  organization: 'org',
  apiKey: 'key',
  endpoint: 'ep',
  eventType: 'et',
  signingKey: 'sk',
  event: 'evt',
  delivery: 'dlv',
  attempt: 'att',
  portalSession: 'ps',
} as const;

export type IdKind = keyof typeof ID_PREFIXES;

const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** Builds an id of `kind` from a millisecond timestamp and 10 random bytes. */
export function makeId(kind: IdKind, nowMs: number, random10: Uint8Array): string {
  if (random10.length < 10) throw new Error('makeId needs 10 random bytes');
  let time = '';
  let t = Math.floor(nowMs);
  for (let i = 0; i < 10; i++) {
    time = ALPHABET[t % 32] + time;
    t = Math.floor(t / 32);
  }
  // 80 random bits → 16 base32 chars, taken 5 bits at a time.
  let rand = '';
  let buffer = 0;
  let bits = 0;
  for (let i = 0; i < 10; i++) {
    buffer = (buffer << 8) | random10[i]!;
    bits += 8;
    while (bits >= 5) {
      rand += ALPHABET[(buffer >> (bits - 5)) & 31];
      bits -= 5;
    }
    buffer &= (1 << bits) - 1;
  }
  return `${ID_PREFIXES[kind]}_${time}${rand}`;
}

const ID_PATTERN = /^[a-z]{2,3}_[0-9A-HJKMNP-TV-Z]{26}$/;

/** True when `value` looks like an id of `kind` (used to answer NOT_FOUND early on junk). */
export function isIdOf(kind: IdKind, value: string): boolean {
  return ID_PATTERN.test(value) && value.startsWith(`${ID_PREFIXES[kind]}_`);
}

/** True when `value` has the shape of a generated id of any kind (client uids may not). */
export function looksLikeGeneratedId(value: string): boolean {
  return ID_PATTERN.test(value);
}

/** The millisecond timestamp encoded in an id, or null for a malformed id. */
export function idTimeMs(id: string): number | null {
  const body = id.split('_')[1];
  if (!body || body.length !== 26) return null;
  let t = 0;
  for (const ch of body.slice(0, 10)) {
    const v = ALPHABET.indexOf(ch);
    if (v < 0) return null;
    t = t * 32 + v;
  }
  return t;
}

/**
 * The smallest id of `kind` created at or after `ms`: since ids sort by time, a time window is an
 * id range, which the (org_id, id) indexes serve without a separate timestamp index.
 */
export function idLowerBound(kind: IdKind, ms: number): string {
  let time = '';
  let t = Math.max(0, Math.floor(ms));
  for (let i = 0; i < 10; i++) {
    time = ALPHABET[t % 32] + time;
    t = Math.floor(t / 32);
  }
  return `${ID_PREFIXES[kind]}_${time}0000000000000000`;
}
