/**
 * Client ids (`uid`): names integrators choose for their endpoints and custom event types, so a
 * script can refer to "billing-alerts" instead of remembering a generated `ep_...` id. Every
 * argument that takes such an object's id also takes its uid (one argument, either form): a uid
 * may never look like a generated id, so which one was meant is decided by its shape alone.
 */
import type { InputProblem } from './errors.js';
import { isIdOf, looksLikeGeneratedId, type IdKind } from './ids.js';

export const UID_MAX_LENGTH = 64;
const UID_RE = /^[A-Za-z0-9._-]{1,64}$/;

/** Why `value` cannot be a uid, or null when it can. */
export function uidProblem(value: string): string | null {
  if (!UID_RE.test(value)) {
    return `must be 1 to ${UID_MAX_LENGTH} letters, digits, "-", "_" or "." (e.g. "billing-alerts")`;
  }
  if (looksLikeGeneratedId(value)) {
    return 'must not look like a generated id (two or three lowercase letters, "_" and 26 characters), so an id argument is never ambiguous';
  }
  return null;
}

/**
 * Checks an optional uid input: undefined stays undefined (not given), null and "" clear it, a
 * string must be a valid uid. `field` locates the problem.
 */
export function checkUid(raw: string | null | undefined, field: string, problems: InputProblem[]): string | null | undefined {
  if (raw === undefined) return undefined;
  if (raw === null || raw === '') return null;
  const problem = uidProblem(raw);
  if (problem) {
    problems.push({ field, message: `${field} ${JSON.stringify(raw.length > 80 ? `${raw.slice(0, 77)}...` : raw)} ${problem}.` });
  }
  return raw;
}

/** What an id-or-uid argument names: a generated id of `kind`, a uid, or nothing that can exist. */
export type ObjectRef = { by: 'id'; id: string } | { by: 'uid'; uid: string } | { by: 'none' };

/** Reads an argument that accepts the id or the uid of an object of `kind`. */
export function parseRef(kind: IdKind, value: string): ObjectRef {
  if (isIdOf(kind, value)) return { by: 'id', id: value };
  if (uidProblem(value) === null) return { by: 'uid', uid: value };
  return { by: 'none' };
}
