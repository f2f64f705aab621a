import type { CombinedError } from 'urql';

/** One problem with an input field, as the API reports it in `extensions.problems`. */
export interface FieldProblem {
  field: string;
  message: string;
}

interface ErrorLike {
  message: string;
  extensions?: Record<string, unknown> | null;
}

function graphQLErrors(error: CombinedError | null | undefined): ErrorLike[] {
  return (error?.graphQLErrors ?? []) as ErrorLike[];
}

/** The first `extensions.code` of a result error (e.g. FORBIDDEN), if any. */
export function errorCode(error: CombinedError | null | undefined): string | undefined {
  for (const e of graphQLErrors(error)) {
    const code = e.extensions?.code;
    if (typeof code === 'string') return code;
  }
  return undefined;
}

/** A sentence a person can act on. */
export function errorMessage(error: CombinedError | null | undefined): string {
  if (!error) return '';
  const messages = graphQLErrors(error).map((e) => e.message);
  if (messages.length) return [...new Set(messages)].join(' ');
  if (error.networkError) return `Cannot reach the server (${error.networkError.message}). Check your connection and try again.`;
  return error.message.replace(/^\[(GraphQL|Network)\]\s*/, '');
}

/**
 * Field path → message, from BAD_USER_INPUT errors (`extensions.problems` or `extensions.field`).
 * Paths are relative to the input object: a leading `input.` / `filter.` is removed.
 */
export function fieldProblems(error: CombinedError | null | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  const add = (field: unknown, message: string): void => {
    if (typeof field !== 'string' || !field) return;
    const key = normalizeFieldPath(field);
    out[key] = out[key] ? `${out[key]} ${message}` : message;
  };
  for (const e of graphQLErrors(error)) {
    if (e.extensions?.code !== 'BAD_USER_INPUT') continue;
    const problems = e.extensions.problems;
    if (Array.isArray(problems) && problems.length) {
      for (const p of problems as FieldProblem[]) add(p.field, p.message);
    } else if (e.extensions.field) {
      add(e.extensions.field, e.message);
    } else {
      // Variable coercion errors name the field only in the message: `... at "input.timeoutMs"; ...`.
      const at = /at "((?:input|filter)\.[\w.[\]]+)"/.exec(e.message);
      if (at) add(at[1], e.message.replace(/^Variable "\$\w+" got invalid value .*? at "[^"]+"; /, ''));
    }
  }
  return out;
}

/** `input.retryPolicy.maxAttempts` → `retryPolicy.maxAttempts`. */
export function normalizeFieldPath(field: string): string {
  return field.replace(/^(input|inputs\[\d+\]|filter)\./, '');
}

/** Problems whose field is not in `known`: shown above the form so none is lost. */
export function unplacedProblems(problems: Record<string, string>, known: (field: string) => boolean): string[] {
  return Object.entries(problems)
    .filter(([field]) => !known(field))
    .map(([, message]) => message);
}
