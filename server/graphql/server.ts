import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import { createYoga } from 'graphql-yoga';
import { WebSocketServer } from 'ws';
import { useServer } from 'graphql-ws/use/ws';
import { GraphQLError, type GraphQLSchema } from 'graphql';
import type { Logger } from '../logger.js';
import { DomainError } from '../domain/errors.js';
import type { Services } from '../services/index.js';
import type { Viewer } from '../services/auth.js';
import { createContext, type GraphQLContext } from './context.js';
import { createLoaders } from './loaders.js';
import { toClientError } from './errors.js';
import type { LivePubSub } from './liveTopics.js';
import { createRequestLog, type OperationTrace } from './requestLog.js';
import { createInputGuardPlugin } from './inputGuard.js';
import { createBodyLimitPlugin } from './bodyLimit.js';
import { createGraphiQL } from './graphiql.js';
import { createIdempotencyPlugin } from './idempotency.js';

export interface GraphQLServerDeps {
  schema: GraphQLSchema;
  services: Services;
  log: Logger;
  /** Live topics for GraphQL subscriptions. */
  live?: LivePubSub | null;
  /** Called once per GraphQL operation (metrics). */
  onOperation?: (type: string, ok: boolean, durationMs: number) => void;
  maxRequestBodyBytes?: number;
}

export interface GraphQLServer {
  /** Answers one HTTP request to /graphql. */
  handle(req: IncomingMessage, res: ServerResponse): Promise<void>;
  /** Serves graphql-ws on the same path of `server`. */
  attach(server: Server): void;
  /** Answers GET `/graphiql/<file>` (GraphiQL's script, style and editor workers); false when none. */
  serveGraphiQLAsset(req: IncomingMessage, res: ServerResponse, path: string): Promise<boolean>;
  stop(): Promise<void>;
}

const MAX_BODY_DEFAULT = 64 * 1024 * 1024;

/**
 * /graphql over HTTP (graphql-yoga) and WebSocket (graphql-ws through yoga's envelop, so both
 * transports share plugins, error masking and context). Loaded by the api role only: a worker
 * process never pays for the schema, yoga and the WebSocket server.
 */
export function createGraphQLServer(deps: GraphQLServerDeps): GraphQLServer {
  const { services, log } = deps;
  const maxBody = deps.maxRequestBodyBytes ?? MAX_BODY_DEFAULT;
  const live = deps.live ?? null;
  const requestLog = createRequestLog({ log, onOperation: deps.onOperation });
  const graphiql = createGraphiQL({ title: 'Org webhooks GraphQL', endpoint: '/graphql', subscriptionsProtocol: 'WS' });

  async function contextFor(authorization: string | null | undefined, requestId: string, requestOrigin: string | null, traceparent: string | null): Promise<GraphQLContext> {
    // The platform operator's token first: it is not an API key, and it reads no organization.
    const platform = services.platform.identify(authorization);
    if (platform) return createContext({ requestId, viewer: null, platform, authError: null, services, live, loaders: createLoaders(services, null), requestOrigin, traceparent });
    let viewer: Viewer | null = null;
    let authError: DomainError | null = null;
    if (authorization) {
      try {
        viewer = await services.authenticate(authorization);
      } catch (err) {
        if (!(err instanceof DomainError)) throw err;
        authError = err;
      }
    }
    return createContext({ requestId, viewer, authError, services, live, loaders: createLoaders(services, viewer), requestOrigin, traceparent });
  }

  // Both transports build their context here: HTTP from the Authorization header, graphql-ws
  // from the viewer resolved once in connection_init.
  const yoga = createYoga<{ requestId?: string; wsViewer?: Viewer; trace?: OperationTrace }>({
    schema: deps.schema,
    // Idempotency after the input guard: a request refused for its input claims no key.
    plugins: [requestLog.plugin, createInputGuardPlugin(), createIdempotencyPlugin(services.idempotency), createBodyLimitPlugin(maxBody)],
    maxRequestBodySize: false,
    graphqlEndpoint: '/graphql',
    landingPage: false,
    // Served from the installed package, never a CDN (see graphiql.ts).
    graphiql: true,
    renderGraphiQL: () => graphiql.page(),
    logging: false,
    maskedErrors: {
      maskError: (error) => toClientError(error, undefined, (err) => log.error({ err }, 'unexpected error in a resolver')),
    },
    context: (initial) => {
      const requestId = initial.requestId ?? randomUUID();
      if (initial.wsViewer) {
        const viewer = initial.wsViewer;
        return createContext({ requestId, viewer, authError: null, services, live, loaders: createLoaders(services, viewer) });
      }
      return contextFor(initial.request.headers.get('authorization'), requestId, requestOrigin(initial.request), initial.request.headers.get('traceparent'));
    },
  });

  let wsServer: WebSocketServer | null = null;
  let wsCleanup: { dispose: () => void | Promise<void> } | null = null;
  // Open sockets by the API key they authenticated with: revoking a key (here or on another
  // process) closes its sockets at once, ending their live streams.
  const socketsByKey = new Map<string, Set<{ close(code: number, reason: string): void }>>();
  const stopWatchingRevocations = services.authenticate.onRevoked((apiKeyId) => {
    for (const socket of socketsByKey.get(apiKeyId) ?? []) socket.close(4401, 'This API key was revoked; ask an admin for a new one.');
    socketsByKey.delete(apiKeyId);
  });

  return {
    async handle(req, res) {
      const length = Number(req.headers['content-length'] ?? 0);
      if (length > maxBody) {
        const trace = requestLog.start(randomUUID(), 'http');
        trace.errorCodes.add('PAYLOAD_TOO_LARGE');
        requestLog.finish(trace, { status: 413 });
        res.writeHead(413, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            errors: [{ message: `Request body is ${length} bytes; the limit is ${maxBody}.`, extensions: { code: 'PAYLOAD_TOO_LARGE' } }],
          }),
        );
        return;
      }
      const requestId = randomUUID();
      res.setHeader('x-request-id', requestId);
      const trace = requestLog.start(requestId, 'http');
      try {
        // requestListener (unlike handleNodeRequestAndResponse) also writes the response.
        await (yoga.requestListener as unknown as (req: IncomingMessage, res: ServerResponse, ctx: { requestId: string; trace: OperationTrace }) => Promise<void>)(
          req,
          res,
          { requestId, trace },
        );
      } finally {
        requestLog.finish(trace, { status: res.statusCode });
      }
    },

    serveGraphiQLAsset: (req, res, path) => graphiql.serveAsset(req, res, path),

    attach(server) {
      wsServer = new WebSocketServer({ server, path: '/graphql', maxPayload: 1024 * 1024 });
      // The HTTP server reports listen errors (port in use); the WebSocket server re-emits them.
      wsServer.on('error', () => {});
      // Operations of one socket being traced, by graphql-ws operation id.
      const tracesOf = (extra: { traces?: Map<string, OperationTrace> }) => (extra.traces ??= new Map());
      wsCleanup = useServer<Record<string, unknown>, { viewer?: Viewer; authorization?: string | null; traces?: Map<string, OperationTrace> }>(
        {
          execute: (args) => (args.rootValue as EnvelopedRoot).execute(args),
          subscribe: (args) => (args.rootValue as EnvelopedRoot).subscribe(args),
          // A missing or bad key closes the socket with 4401 and the reason, before any operation.
          onConnect: async (ctx) => {
            const params = ctx.connectionParams ?? {};
            const authorization = params.authorization ?? params.Authorization;
            try {
              ctx.extra.authorization = typeof authorization === 'string' ? authorization : null;
              ctx.extra.viewer = await services.authenticate(ctx.extra.authorization);
              const apiKeyId = ctx.extra.viewer.apiKeyId;
              let sockets = socketsByKey.get(apiKeyId);
              if (!sockets) socketsByKey.set(apiKeyId, (sockets = new Set()));
              sockets.add(ctx.extra.socket);
              return true;
            } catch (err) {
              if (err instanceof DomainError) {
                log.info({ code: err.code }, 'graphql-ws connection refused');
                ctx.extra.socket.close(4401, err.message.slice(0, 120));
                return false;
              }
              // Not the caller's fault (database down): 4500, which clients retry, not 4401.
              log.error({ err }, 'graphql-ws authentication failed');
              ctx.extra.socket.close(4500, 'Internal error; try again.');
              return false;
            }
          },
          onSubscribe: async (ctx, id, payload) => {
            // The key is checked again for every operation: one revoked while the socket was open
            // starts nothing more (the console keeps its socket for hours).
            try {
              ctx.extra.viewer = await services.authenticate(ctx.extra.authorization);
            } catch (err) {
              const known = err instanceof DomainError;
              if (!known) log.error({ err }, 'graphql-ws authentication failed');
              ctx.extra.socket.close(known ? 4401 : 4500, known ? err.message.slice(0, 120) : 'Internal error; try again.');
              return [new GraphQLError(known ? err.message : 'Internal error.', { extensions: { code: known ? err.code : 'INTERNAL_SERVER_ERROR' } })];
            }
            const trace = requestLog.start(randomUUID(), 'ws');
            const enveloped = yoga.getEnveloped({ wsViewer: ctx.extra.viewer, params: payload, requestId: trace.requestId, trace });
            const args = {
              schema: enveloped.schema,
              operationName: payload.operationName,
              document: enveloped.parse(payload.query),
              variableValues: payload.variables,
              contextValue: await enveloped.contextFactory(),
              rootValue: { execute: enveloped.execute, subscribe: enveloped.subscribe },
            };
            const errors = enveloped.validate(args.schema, args.document);
            if (errors.length) {
              // graphql-ws answers these with an error message and no `complete`: the line is written now.
              const clientErrors = errors.map((e: GraphQLError) => toClientError(e, undefined, () => {}));
              requestLog.addErrors(trace, clientErrors);
              requestLog.finish(trace);
              return clientErrors;
            }
            tracesOf(ctx.extra).set(id, trace);
            return args;
          },
          onNext: (ctx, id, _payload, _args, result) => {
            const trace = tracesOf(ctx.extra).get(id);
            if (!trace) return;
            trace.messages++;
            requestLog.addErrors(trace, result.errors);
          },
          onError: (ctx, id, _payload, errors) => {
            requestLog.addErrors(tracesOf(ctx.extra).get(id), errors);
          },
          onComplete: (ctx, id) => {
            const trace = tracesOf(ctx.extra).get(id);
            tracesOf(ctx.extra).delete(id);
            if (trace) requestLog.finish(trace);
          },
          onClose: (ctx) => {
            const apiKeyId = ctx.extra.viewer?.apiKeyId;
            const sockets = apiKeyId ? socketsByKey.get(apiKeyId) : undefined;
            sockets?.delete(ctx.extra.socket);
            if (apiKeyId && sockets?.size === 0) socketsByKey.delete(apiKeyId);
            // Operations graphql-ws ended without `complete` (e.g. "Unable to identify operation").
            for (const trace of tracesOf(ctx.extra).values()) requestLog.finish(trace);
            tracesOf(ctx.extra).clear();
          },
        },
        wsServer,
      );
    },

    async stop() {
      stopWatchingRevocations();
      await wsCleanup?.dispose();
      for (const client of wsServer?.clients ?? []) client.terminate();
      wsServer?.close();
    },
  };
}

/** The origin an HTTP request was addressed to (its Host header), or null. */
function requestOrigin(request: Request): string | null {
  try {
    return new URL(request.url).origin;
  } catch {
    return null;
  }
}

interface EnvelopedRoot {
  execute: (args: unknown) => ReturnType<typeof import('graphql').execute>;
  subscribe: (args: unknown) => ReturnType<typeof import('graphql').subscribe>;
}
