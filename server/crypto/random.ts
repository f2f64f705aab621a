import { randomBytes, randomFillSync } from 'node:crypto';
import { makeId, type IdKind } from '../domain/ids.js';

// Ids are made thousands of times a second (events, deliveries, attempts, jobs): one
// randomBytes() call each costs a trip into OpenSSL's locked RNG (~5 µs). The same CSPRNG fills a
// pool instead, refilled into a fresh buffer so bytes handed out are never reused or overwritten.
const POOL_BYTES = 16 * 1024;
let pool = Buffer.alloc(0);
let offset = 0;

/** `count` (≤ 256) random bytes from the pooled CSPRNG output; for identifiers, not for keys. */
export function pooledRandom(count: number): Buffer {
  if (offset + count > pool.length) {
    pool = randomFillSync(Buffer.allocUnsafe(POOL_BYTES));
    offset = 0;
  }
  const bytes = pool.subarray(offset, offset + count);
  offset += count;
  return bytes;
}

/** A new time-ordered id of `kind`, from the real clock (or `nowMs`) and the system's random source. */
export function newId(kind: IdKind, nowMs = Date.now()): string {
  return makeId(kind, nowMs, pooledRandom(10));
}

/** `count` cryptographically random bytes (keys and secrets: never pooled). */
export function random(count: number): Buffer {
  return randomBytes(count);
}

/** A W3C span id: 16 lowercase hex digits, never all zero (pooled random: an id, not a key). */
export function newSpanId(): string {
  for (;;) {
    const id = pooledRandom(8).toString('hex');
    if (id !== '0000000000000000') return id;
  }
}
