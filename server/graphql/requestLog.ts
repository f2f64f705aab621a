import { performance } from 'node:perf_hooks';
import { getOperationAST, Kind, type DocumentNode } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Logger } from '../logger.js';
import type { Viewer } from '../services/auth.js';

/**
 * What one GraphQL operation leaves in the log. Only names, ids and error codes: never
 * variables, query text, payloads, response data, secrets or API keys (keys are secrets; their
 * ids are not).
 */
export interface OperationTrace {
  requestId: string;
  transport: 'http' | 'ws';
  startedAt: number;
  operationName: string | null;
  operationType: string | null;
  rootFields: string[];
  orgId: string | null;
  apiKeyId: string | null;
  errorCodes: Set<string>;
  /** graphql-ws: results sent for this operation (events, for a subscription). */
  messages: number;
  finished: boolean;
}

const MAX_LOGGED_FIELDS = 20;

/** One structured line per GraphQL operation (HTTP request, or graphql-ws operation when it ends). */
export function createRequestLog(deps: { log: Logger; onOperation?: (type: string, ok: boolean, durationMs: number) => void }) {
  const { log } = deps;

  function describe(trace: OperationTrace | undefined, document: DocumentNode, operationName: string | null | undefined, viewer: Viewer | null | undefined): void {
    if (!trace) return;
    const operation = getOperationAST(document, operationName);
    if (operation) {
      trace.operationName = operation.name?.value ?? trace.operationName;
      trace.operationType = operation.operation;
      // Distinct names, at most MAX_LOGGED_FIELDS: a line must not grow with the document (a
      // million aliases made a 12 MB log line).
      const names = new Set<string>();
      for (const s of operation.selectionSet.selections) {
        if (s.kind !== Kind.FIELD) continue;
        names.add(s.name.value);
        if (names.size > MAX_LOGGED_FIELDS) break;
      }
      trace.rootFields = [...names].slice(0, MAX_LOGGED_FIELDS);
      if (names.size > MAX_LOGGED_FIELDS) trace.rootFields.push('...');
    }
    trace.orgId = viewer?.orgId ?? null;
    trace.apiKeyId = viewer?.apiKeyId ?? null;
  }

  function addErrors(trace: OperationTrace | undefined, errors: readonly { extensions?: Record<string, unknown> }[] | undefined): void {
    if (!trace || !errors) return;
    for (const e of errors) trace.errorCodes.add(typeof e.extensions?.code === 'string' ? e.extensions.code : 'UNKNOWN');
  }

  /** Fills the trace carried as `trace` in the yoga server context (HTTP) or initial context (graphql-ws). */
  const plugin: Plugin<{ trace?: OperationTrace; viewer?: Viewer | null }> = {
    onParams({ params, context }) {
      const trace = (context as { trace?: OperationTrace }).trace;
      if (trace && typeof params.operationName === 'string') trace.operationName = params.operationName;
    },
    onExecute({ args }) {
      const ctx = args.contextValue as { trace?: OperationTrace; viewer?: Viewer | null };
      describe(ctx.trace, args.document, args.operationName, ctx.viewer);
    },
    onSubscribe({ args }) {
      const ctx = args.contextValue as { trace?: OperationTrace; viewer?: Viewer | null };
      describe(ctx.trace, args.document, args.operationName, ctx.viewer);
    },
    onResultProcess({ result, serverContext }) {
      const trace = (serverContext as { trace?: OperationTrace }).trace;
      // Streams (SSE subscriptions) report nothing here; their errors stay in the stream.
      if (!trace || Symbol.asyncIterator in Object(result)) return;
      for (const r of Array.isArray(result) ? result : [result]) addErrors(trace, (r as { errors?: [] }).errors);
    },
  };

  return {
    plugin,
    start(requestId: string, transport: OperationTrace['transport']): OperationTrace {
      return {
        requestId,
        transport,
        startedAt: performance.now(),
        operationName: null,
        operationType: null,
        rootFields: [],
        orgId: null,
        apiKeyId: null,
        errorCodes: new Set(),
        messages: 0,
        finished: false,
      };
    },
    addErrors,
    /** Writes the operation's line once. */
    finish(trace: OperationTrace, extra: { status?: number } = {}): void {
      if (trace.finished) return;
      trace.finished = true;
      const durationMs = Math.round((performance.now() - trace.startedAt) * 100) / 100;
      const errors = [...trace.errorCodes];
      const line = {
        requestId: trace.requestId,
        transport: trace.transport,
        operationName: trace.operationName,
        operationType: trace.operationType,
        fields: trace.rootFields,
        orgId: trace.orgId,
        apiKeyId: trace.apiKeyId,
        durationMs,
        ...(extra.status !== undefined ? { status: extra.status } : {}),
        ...(trace.transport === 'ws' ? { messages: trace.messages } : {}),
        errors,
      };
      if (errors.includes('INTERNAL_SERVER_ERROR')) log.warn(line, 'graphql request');
      else log.info(line, 'graphql request');
      // A subscription's duration is how long the client watched: not a latency worth a histogram.
      if (trace.operationType !== 'subscription') deps.onOperation?.(trace.operationType ?? 'unknown', errors.length === 0, durationMs);
    },
  };
}
export type RequestLog = ReturnType<typeof createRequestLog>;
