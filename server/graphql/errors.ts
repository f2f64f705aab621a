import { GraphQLError } from 'graphql';
import { DomainError, InputProblemsError } from '../domain/errors.js';

/**
 * Maps every error leaving a resolver to what clients see: DomainErrors keep their code and
 * message; GraphQLErrors (validation, limits) pass through; anything else is a bug or an
 * infrastructure fault and is masked so no internals (SQL, secrets) leak.
 */
export function toClientError(error: unknown, requestId: string | undefined, log: (err: unknown) => void): GraphQLError {
  const original = error instanceof GraphQLError && error.originalError ? error.originalError : error;
  const path = error instanceof GraphQLError ? error.path : undefined;
  const nodes = error instanceof GraphQLError ? error.nodes : undefined;
  if (original instanceof DomainError) {
    return new GraphQLError(original.message, {
      nodes,
      path,
      extensions: {
        code: original.code,
        ...(original.field ? { field: original.field } : {}),
        ...original.details,
        ...(original instanceof InputProblemsError ? { problems: original.problems } : {}),
      },
    });
  }
  if (original instanceof GraphQLError) {
    return original.extensions?.code
      ? original
      : new GraphQLError(original.message, { nodes: original.nodes, path: original.path, extensions: { ...original.extensions, code: 'BAD_USER_INPUT' } });
  }
  if (error instanceof GraphQLError && !error.originalError) {
    return error.extensions?.code
      ? error
      : new GraphQLError(error.message, { nodes, path, extensions: { ...error.extensions, code: 'BAD_USER_INPUT' } });
  }
  log(original);
  return new GraphQLError(`Internal error${requestId ? ` (request ${requestId})` : ''}; the server log has the details.`, {
    nodes,
    path,
    extensions: { code: 'INTERNAL_SERVER_ERROR' },
  });
}

