/**
 * Secret values in a configuration document (custom header values, the mTLS client key, a URL's
 * query string). A document never has to hold one in clear:
 * - a string sets the value (in a repository, write `${ENV_VAR}`: the CLI substitutes it from
 *   its environment before sending);
 * - `{ unchanged: true }` keeps the value the object has now (what `exportConfiguration` writes
 *   for every secret, so an export applies as a no-op and contains no secret);
 * - leaving the value out clears it (a header not listed is removed, `tls: null` removes mTLS).
 */
import type { InputProblem } from '../errors.js';

/** The reference that keeps a secret as it is. */
export interface UnchangedSecret {
  unchanged: true;
}

export type SecretValue = string | UnchangedSecret;

export const UNCHANGED: UnchangedSecret = Object.freeze({ unchanged: true as const });

/** True for `{ unchanged: true }`. */
export function isUnchanged(value: unknown): value is UnchangedSecret {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    Object.keys(value).length === 1 &&
    (value as Record<string, unknown>).unchanged === true
  );
}

/** Reads a document value that may be secret; undefined (with a problem) when it is neither form. */
export function readSecretValue(raw: unknown, at: string, problems: InputProblem[]): SecretValue | undefined {
  if (typeof raw === 'string' || isUnchanged(raw)) return raw;
  problems.push({ field: at, message: `${at} must be a string, or {"unchanged": true} to keep the current value.` });
  return undefined;
}

/**
 * The value a secret reference stands for: a string as given; `unchanged` resolves to `current`,
 * which must exist (a new object, a header that is not there yet, has no current value).
 */
export function resolveSecret(value: SecretValue, current: string | null | undefined, at: string, problems: InputProblem[]): string | undefined {
  if (typeof value === 'string') return value;
  if (current === null || current === undefined) {
    problems.push({
      field: at,
      message: `${at} is {"unchanged": true}, but there is no current value to keep (a new object or a value not set yet): give the value, e.g. "\${SOME_SECRET}" substituted by the CLI.`,
    });
    return undefined;
  }
  return current;
}
