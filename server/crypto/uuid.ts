import { pooledRandom } from './random.js';

let lastMs = 0;
let sequence = 0;

/**
 * A UUIDv7 (RFC 9562): 48-bit milliseconds, then a 12-bit counter that keeps ids written in the
 * same millisecond by this process in creation order, then random bits. Queue jobs use it, so
 * jobs written by one statement sort in the order they were made.
 */
export function timeOrderedUuid(): string {
  let now = Date.now();
  if (now <= lastMs) {
    sequence++;
    if (sequence > 0xfff) {
      lastMs++;
      sequence = 0;
    }
    now = lastMs;
  } else {
    lastMs = now;
    sequence = 0;
  }
  const bytes = Buffer.from(pooledRandom(16));
  bytes.writeUIntBE(now, 0, 6);
  bytes[6] = 0x70 | (sequence >> 8);
  bytes[7] = sequence & 0xff;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
