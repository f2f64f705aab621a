import { getOperationAST, GraphQLError, Kind, print, type DocumentNode, type ExecutionResult, type FieldNode, type SelectionSetNode } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { DomainError } from '../domain/errors.js';
import { keepResponse, requestFingerprint } from '../domain/idempotency.js';
import type { IdempotencyClaim, IdempotencyService, StoredResponse } from '../services/idempotency.js';
import type { GraphQLContext } from './context.js';
import { toClientError } from './errors.js';

export const IDEMPOTENCY_HEADER = 'idempotency-key';
/** Set on a response that is the replay of the first one sent with its key. */
export const REPLAYED_HEADER = 'idempotent-replayed';

/**
 * `Idempotency-Key` on HTTP mutations: the first request with a key runs and its response is
 * kept for 24 hours; a retry of the same request (same operation, name and variables, same API
 * key) gets that response without running again, marked `Idempotent-Replayed: true`. Queries
 * ignore the header (they change nothing); graphql-ws operations have no header. All the rules
 * live in the idempotency service; this plugin only connects them to execution.
 */
export function createIdempotencyPlugin(service: IdempotencyService): Plugin {
  const replayed = new WeakSet<Request>();
  const running = new WeakMap<Request, IdempotencyClaim>();

  return {
    async onExecute({ args, setResultAndStopExecution }) {
      const ctx = args.contextValue as unknown as GraphQLContext & { request?: Request };
      const request = ctx.request;
      const key = request?.headers.get(IDEMPOTENCY_HEADER) ?? null;
      if (!request || key === null) return;
      if (getOperationAST(args.document, args.operationName)?.operation !== 'mutation') return;
      // Without a caller there is nothing to remember: the operation answers UNAUTHENTICATED.
      if (!ctx.viewer) return;

      const requestHash = requestFingerprint({ operation: print(args.document), operationName: args.operationName, variables: args.variableValues });
      let outcome: Awaited<ReturnType<IdempotencyService['begin']>>;
      try {
        outcome = await service.begin(ctx.viewer, key, requestHash);
      } catch (err) {
        if (!(err instanceof DomainError)) throw err;
        setResultAndStopExecution({ errors: [toClientError(err, ctx.requestId, () => {})] });
        return;
      }
      if ('replay' in outcome) {
        replayed.add(request);
        setResultAndStopExecution(fromStored(outcome.replay, args.document, args.operationName));
        return;
      }
      const claim = outcome.claim;
      running.set(request, claim);
      return {
        async onExecuteDone({ result }) {
          if (!isExecutionResult(result)) return claim.release();
          // Kept as the client receives it: errors masked exactly as the response will be.
          const stored = toStored(result, ctx.requestId);
          await (keepResponse(stored) ? claim.complete(stored) : claim.release());
        },
      };
    },

    async onResponse({ request, response }) {
      if (replayed.has(request)) response.headers.set(REPLAYED_HEADER, 'true');
      // Execution that never reached onExecuteDone (an exception) must not hold the key until its lease ends.
      const claim = running.get(request);
      if (claim && !claim.settled) await claim.release().catch(() => {});
    },
  };
}

function isExecutionResult(result: unknown): result is ExecutionResult {
  return typeof result === 'object' && result !== null && !(Symbol.asyncIterator in result);
}

function toStored(result: ExecutionResult, requestId: string): StoredResponse {
  const stored: StoredResponse = { data: (result.data as Record<string, unknown> | null | undefined) ?? null };
  if (result.errors?.length) {
    stored.errors = result.errors.map((error) => {
      const masked = toClientError(error, requestId, () => {}).toJSON();
      return { message: masked.message, ...(masked.path ? { path: masked.path } : {}), ...(masked.extensions ? { extensions: masked.extensions } : {}) };
    });
  }
  return stored;
}

/**
 * The kept response as an execution result of this request. Error locations point into the
 * query text, which a retry may format differently: they are taken from this request's document.
 */
function fromStored(stored: StoredResponse, document: DocumentNode, operationName: string | null | undefined): ExecutionResult {
  const operation = getOperationAST(document, operationName);
  const fragments = new Map(document.definitions.flatMap((d) => (d.kind === Kind.FRAGMENT_DEFINITION ? [[d.name.value, d.selectionSet] as const] : [])));
  return {
    data: stored.data ?? null,
    ...(stored.errors
      ? {
          errors: stored.errors.map((e) => {
            const node = operation && e.path ? fieldAt(operation.selectionSet, e.path, fragments) : null;
            return new GraphQLError(e.message, { path: e.path, extensions: e.extensions, nodes: node ? [node] : undefined });
          }),
        }
      : {}),
  };
}

/** The field node a response path leads to (list indexes skipped), or null. */
function fieldAt(selectionSet: SelectionSetNode, path: readonly (string | number)[], fragments: Map<string, SelectionSetNode>): FieldNode | null {
  const [head, ...rest] = path.filter((p): p is string => typeof p === 'string');
  if (head === undefined) return null;
  const find = (set: SelectionSetNode): FieldNode | null => {
    for (const selection of set.selections) {
      if (selection.kind === Kind.FIELD && (selection.alias?.value ?? selection.name.value) === head) return selection;
      const inner = selection.kind === Kind.INLINE_FRAGMENT ? selection.selectionSet : selection.kind === Kind.FRAGMENT_SPREAD ? fragments.get(selection.name.value) : undefined;
      const found = inner ? find(inner) : null;
      if (found) return found;
    }
    return null;
  };
  const field = find(selectionSet);
  if (!field || rest.length === 0 || !field.selectionSet) return field;
  return fieldAt(field.selectionSet, rest, fragments) ?? field;
}
