/** Error codes of the public API (SPEC §7); every expected failure carries one. */
export type ErrorCode =
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'BAD_USER_INPUT'
  | 'FEATURE_NOT_AVAILABLE'
  | 'PAYLOAD_TOO_LARGE'
  | 'RATE_LIMITED'
  | 'IDEMPOTENCY_CONFLICT';

/**
 * An expected failure, returned to the caller as a GraphQL error with `extensions.code`.
 * `field` names the input field at fault (the console shows the message next to it).
 */
export class DomainError extends Error {
  override name = 'DomainError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly field?: string,
    /** More machine-readable facts, added to `extensions` (e.g. `reason`). */
    readonly details?: Readonly<Record<string, string>>,
  ) {
    super(message);
  }
}

/** One problem with an input value, located by its field path (e.g. `retryPolicy.maxAttempts`). */
export interface InputProblem {
  field: string;
  message: string;
  /** Where in the field's text (a filter expression, transformation code) the problem is; 1-based. */
  position?: { line: number; column: number };
}

/** A BAD_USER_INPUT error listing every problem found, so a form can mark each field at once. */
export class InputProblemsError extends DomainError {
  constructor(readonly problems: InputProblem[]) {
    super('BAD_USER_INPUT', problems.map((p) => p.message).join(' '), problems[0]?.field);
  }
}

/** Throws an InputProblemsError when `problems` is not empty. */
export function assertNoProblems(problems: InputProblem[]): void {
  if (problems.length > 0) throw new InputProblemsError(problems);
}

/** Shorthand for a BAD_USER_INPUT error on `field`. */
export function badInput(message: string, field?: string): DomainError {
  return new DomainError('BAD_USER_INPUT', message, field);
}

/** The NOT_FOUND answer for ids that do not exist or belong to another organization. */
export function notFound(what: string, id: string): DomainError {
  return new DomainError('NOT_FOUND', `No ${what} with id "${id}" in this organization.`);
}

/** NOT_FOUND for an argument that takes an id or a client uid (see clientIds.ts). */
export function notFoundRef(what: string, idOrUid: string): DomainError {
  const shown = idOrUid.length > 80 ? `${idOrUid.slice(0, 77)}...` : idOrUid;
  return new DomainError('NOT_FOUND', `No ${what} with id or uid ${JSON.stringify(shown)} in this organization.`);
}

/** The outcome of a validation: the normalised value, or every problem found. */
export type Checked<T> = { ok: true; value: T } | { ok: false; problems: InputProblem[] };

/** The value of a validation, or an InputProblemsError listing its problems. */
export function orThrow<T>(result: Checked<T>): T {
  if (!result.ok) throw new InputProblemsError(result.problems);
  return result.value;
}
