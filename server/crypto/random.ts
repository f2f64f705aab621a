import { randomBytes } from 'node:crypto';
import { makeId, type IdKind } from '../domain/ids.js';

/** A new time-ordered id of `kind`, from the real clock and the system's random source. */
export function newId(kind: IdKind): string {
  return makeId(kind, Date.now(), randomBytes(10));
}

/** `count` cryptographically random bytes. */
export function random(count: number): Buffer {
  return randomBytes(count);
}
