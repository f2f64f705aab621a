import { GraphQLError, type ASTNode } from 'graphql';
import { DomainError, InputProblemsError, type ErrorCode } from '../domain/errors.js';

/**
 * The one place that turns failures into what clients see, `extensions.code` included. Every
 * other module raises a DomainError (server/domain/errors.ts) and hands it here: resolvers by
 * throwing (yoga's maskError calls toClientError), request-phase hooks (limits, guards) through
 * requestError, raw HTTP answers (before yoga) through httpErrorResponse. A new code or field in
 * the error contract is added here only.
 */

/** HTTP status of a refusal answered before execution (GraphQL over HTTP: 4xx for request errors). */
const HTTP_STATUS: Record<ErrorCode, number> = {
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  BAD_USER_INPUT: 400,
  FEATURE_NOT_AVAILABLE: 403,
  PAYLOAD_TOO_LARGE: 413,
  RATE_LIMITED: 429,
  IDEMPOTENCY_CONFLICT: 409,
};

function extensionsOf(err: DomainError): Record<string, unknown> {
  return {
    code: err.code,
    ...(err.field ? { field: err.field } : {}),
    ...err.details,
    ...(err instanceof InputProblemsError ? { problems: err.problems } : {}),
  };
}

/** A DomainError as a GraphQL error, located at `nodes`/`path` when it came from a field. */
export function domainToGraphQLError(err: DomainError, at: { nodes?: readonly ASTNode[] | ASTNode; path?: readonly (string | number)[] } = {}): GraphQLError {
  return new GraphQLError(err.message, { nodes: at.nodes, path: at.path, extensions: extensionsOf(err) });
}

/** A refusal raised before execution (parse, validation, limits): carries its HTTP status for yoga. */
export function requestError(err: DomainError): GraphQLError {
  // A refused document is a request error in GraphQL over HTTP (400 for its media type, 200 for
  // legacy application/json clients: `spec`); a body too large or a caller too fast is an HTTP
  // status for every client.
  const spec = err.code === 'BAD_USER_INPUT';
  return new GraphQLError(err.message, { extensions: { ...extensionsOf(err), http: { status: HTTP_STATUS[err.code], ...(spec ? { spec: true } : {}) } } });
}

/** A refusal answered by hand, before yoga reads the request (body limit, rate limit, browser guard). */
export function httpErrorResponse(err: DomainError, status: number = HTTP_STATUS[err.code]): { status: number; body: string } {
  return { status, body: JSON.stringify({ errors: [{ message: err.message, extensions: extensionsOf(err) }] }) };
}

/**
 * Maps every error leaving a resolver to what clients see: DomainErrors keep their code and
 * message; GraphQLErrors (validation, limits) pass through, BAD_USER_INPUT when they carry no
 * code; anything else is a bug or an infrastructure fault and is masked so no internals (SQL,
 * secrets) leak.
 */
export function toClientError(error: unknown, requestId: string | undefined, log: (err: unknown) => void): GraphQLError {
  const original = error instanceof GraphQLError && error.originalError ? error.originalError : error;
  const path = error instanceof GraphQLError ? error.path : undefined;
  const nodes = error instanceof GraphQLError ? error.nodes : undefined;
  if (original instanceof DomainError) return domainToGraphQLError(original, { nodes, path });
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
