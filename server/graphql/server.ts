import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import { createYoga } from 'graphql-yoga';
import { WebSocketServer } from 'ws';
import { useServer } from 'graphql-ws/use/ws';
import type { GraphQLError, GraphQLSchema } from 'graphql';
import type { Logger } from '../logger.js';
import { DomainError } from '../domain/errors.js';
import type { Services } from '../services/index.js';
import type { Viewer } from '../services/auth.js';
import { createContext, type GraphQLContext } from './context.js';
import { createLoaders } from './loaders.js';
import { domainToGraphQLError, httpErrorResponse, toClientError } from './errors.js';
import type { LivePubSub } from './liveTopics.js';
import { createRequestLog, type OperationTrace } from './requestLog.js';
import { createInputGuardPlugin } from './inputGuard.js';
import { createBodyLimitPlugin, requestBodyLimits, type RequestBodyLimits } from './bodyLimit.js';
import { createQueryLimitPlugins, DEFAULT_QUERY_LIMITS, type QueryLimits } from './queryLimits.js';
import { createBrowserGuard } from './browserGuard.js';
import { clientAddress } from './clientAddress.js';
import { createSubscriptionLimits } from './subscriptionLimits.js';

export interface GraphQLServerDeps {
  schema: GraphQLSchema;
  services: Services;
  log: Logger;
  /** Live topics for GraphQL subscriptions. */
  live?: LivePubSub | null;
  /** Called once per GraphQL operation (metrics). */
  onOperation?: (type: string, ok: boolean, durationMs: number) => void;
  /** Request-body limits (default: from a 16 MiB publishEvents batch). */
  bodyLimits?: RequestBodyLimits;
  queryLimits?: QueryLimits;
  /** Browser origins allowed besides the service's own (WEBHOOKS_CORS_ORIGINS). */
  corsOrigins?: readonly string[];
  publicUrl?: string | null;
  /** X-Forwarded-For hops to believe for the client address (WEBHOOKS_TRUST_PROXY_HOPS). */
  trustProxyHops?: number;
  subscriptionsPerSocket?: number;
  subscriptionsPerOrganization?: number;
}

/** What handle() learned about the caller before yoga reads the body. */
interface Authentication {
  viewer: Viewer | null;
  authError: DomainError | null;
}

export interface GraphQLServer {
  /** Answers one HTTP request to /graphql. */
  handle(req: IncomingMessage, res: ServerResponse): Promise<void>;
  /** Serves graphql-ws on the same path of `server`. */
  attach(server: Server): void;
  stop(): Promise<void>;
}

/**
 * /graphql over HTTP (graphql-yoga) and WebSocket (graphql-ws through yoga's envelop, so both
 * transports share plugins, error masking and context). Loaded by the api role only: a worker
 * process never pays for the schema, yoga and the WebSocket server.
 */
export function createGraphQLServer(deps: GraphQLServerDeps): GraphQLServer {
  const { services, log } = deps;
  const bodyLimits = deps.bodyLimits ?? requestBodyLimits();
  const live = deps.live ?? null;
  const requestLog = createRequestLog({ log, onOperation: deps.onOperation });
  const browserGuard = createBrowserGuard({ origins: deps.corsOrigins ?? [], publicUrl: deps.publicUrl ?? null });
  const trustProxyHops = deps.trustProxyHops ?? 0;
  const subscriptionLimits = createSubscriptionLimits({
    perSocket: deps.subscriptionsPerSocket ?? 50,
    perOrganization: deps.subscriptionsPerOrganization ?? 500,
  });

  /** Authenticates from the header, before the body is read: anonymous callers get the small body limit. */
  async function authenticateRequest(req: IncomingMessage): Promise<Authentication> {
    const authorization = req.headers.authorization;
    if (!authorization) return { viewer: null, authError: null };
    try {
      return { viewer: await services.authenticate(authorization, { clientAddress: clientAddress(req, trustProxyHops) }), authError: null };
    } catch (err) {
      if (!(err instanceof DomainError)) throw err;
      return { viewer: null, authError: err };
    }
  }

  // Both transports build their context here: HTTP from what handle() authenticated, graphql-ws
  // from the viewer resolved in connection_init (and again for each operation).
  const yoga = createYoga<{ requestId?: string; wsViewer?: Viewer; trace?: OperationTrace; auth?: Authentication; bodyLimit?: number }>({
    schema: deps.schema,
    plugins: [
      requestLog.plugin,
      ...createQueryLimitPlugins(deps.queryLimits ?? DEFAULT_QUERY_LIMITS),
      createInputGuardPlugin(),
      createBodyLimitPlugin((serverContext) => (serverContext as { bodyLimit?: number }).bodyLimit ?? bodyLimits.anonymous),
    ],
    maxRequestBodySize: false,
    // CORS is answered by browserGuard before yoga (yoga's default reflects any origin).
    cors: false,
    // Form-encoded and multipart bodies are refused by browserGuard; GET serves queries only.
    multipart: false,
    graphqlEndpoint: '/graphql',
    landingPage: false,
    graphiql: { title: 'Org webhooks GraphQL', subscriptionsProtocol: 'WS' },
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
      const auth = initial.auth ?? { viewer: null, authError: null };
      return createContext({ requestId, viewer: auth.viewer, authError: auth.authError, services, live, loaders: createLoaders(services, auth.viewer) });
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
      if (browserGuard(req, res)) return;
      const auth = await authenticateRequest(req);
      if (auth.authError?.code === 'RATE_LIMITED') {
        // Refused before anything else is read or looked up (the rate limiter's whole point).
        const trace = requestLog.start(randomUUID(), 'http');
        trace.errorCodes.add('RATE_LIMITED');
        const answer = httpErrorResponse(auth.authError);
        requestLog.finish(trace, { status: answer.status });
        res.writeHead(answer.status, { 'content-type': 'application/json', 'retry-after': '60' });
        res.end(answer.body);
        return;
      }
      // A caller with a working key may send the largest legal request; anyone else a small one.
      const maxBody = auth.viewer ? bodyLimits.authenticated : bodyLimits.anonymous;
      const length = Number(req.headers['content-length'] ?? 0);
      if (length > maxBody) {
        const trace = requestLog.start(randomUUID(), 'http');
        trace.errorCodes.add('PAYLOAD_TOO_LARGE');
        const answer = httpErrorResponse(
          new DomainError('PAYLOAD_TOO_LARGE', `Request body is ${length} bytes; the limit is ${maxBody}${auth.viewer ? '' : ' without a valid API key'}.`),
        );
        requestLog.finish(trace, { status: answer.status });
        res.writeHead(answer.status, { 'content-type': 'application/json' });
        res.end(answer.body);
        return;
      }
      const requestId = randomUUID();
      res.setHeader('x-request-id', requestId);
      const trace = requestLog.start(requestId, 'http');
      try {
        // requestListener (unlike handleNodeRequestAndResponse) also writes the response.
        await (
          yoga.requestListener as unknown as (
            req: IncomingMessage,
            res: ServerResponse,
            ctx: { requestId: string; trace: OperationTrace; auth: Authentication; bodyLimit: number },
          ) => Promise<void>
        )(req, res, { requestId, trace, auth, bodyLimit: maxBody });
      } finally {
        requestLog.finish(trace, { status: res.statusCode });
      }
    },

    attach(server) {
      wsServer = new WebSocketServer({
        server,
        path: '/graphql',
        maxPayload: 1024 * 1024,
        // Browsers do not apply CORS to WebSockets: a page of a foreign origin is refused here.
        verifyClient: ({ req }: { req: IncomingMessage }) => browserGuard.allowsUpgrade(req),
      });
      // The HTTP server reports listen errors (port in use); the WebSocket server re-emits them.
      wsServer.on('error', () => {});
      // Operations of one socket being traced, by graphql-ws operation id.
      const tracesOf = (extra: { traces?: Map<string, OperationTrace> }) => (extra.traces ??= new Map());
      wsCleanup = useServer<
        Record<string, unknown>,
        { viewer?: Viewer; authorization?: string | null; clientAddress?: string | null; traces?: Map<string, OperationTrace> }
      >(
        {
          execute: (args) => (args.rootValue as EnvelopedRoot).execute(args),
          subscribe: (args) => (args.rootValue as EnvelopedRoot).subscribe(args),
          // A missing or bad key closes the socket with 4401 and the reason, before any operation.
          onConnect: async (ctx) => {
            const params = ctx.connectionParams ?? {};
            const authorization = params.authorization ?? params.Authorization;
            try {
              ctx.extra.authorization = typeof authorization === 'string' ? authorization : null;
              ctx.extra.clientAddress = clientAddress(ctx.extra.request, trustProxyHops);
              ctx.extra.viewer = await services.authenticate(ctx.extra.authorization, { clientAddress: ctx.extra.clientAddress });
              const apiKeyId = ctx.extra.viewer.apiKeyId;
              let sockets = socketsByKey.get(apiKeyId);
              if (!sockets) socketsByKey.set(apiKeyId, (sockets = new Set()));
              sockets.add(ctx.extra.socket);
              return true;
            } catch (err) {
              if (err instanceof DomainError) {
                log.info({ code: err.code }, 'graphql-ws connection refused');
                ctx.extra.socket.close(err.code === 'RATE_LIMITED' ? 4429 : 4401, err.message.slice(0, 120));
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
              ctx.extra.viewer = await services.authenticate(ctx.extra.authorization, { clientAddress: ctx.extra.clientAddress ?? null });
            } catch (err) {
              const known = err instanceof DomainError;
              if (!known) log.error({ err }, 'graphql-ws authentication failed');
              ctx.extra.socket.close(known ? 4401 : 4500, known ? err.message.slice(0, 120) : 'Internal error; try again.');
              return [toClientError(err, undefined, () => {})];
            }
            const trace = requestLog.start(randomUUID(), 'ws');
            const enveloped = yoga.getEnveloped({ wsViewer: ctx.extra.viewer, params: payload, requestId: trace.requestId, trace });
            // The request limits refuse by throwing from parse (tokens, nesting) or validation
            // (aliases, depth, directives): answered as errors of this operation, not a closed socket.
            let document: ReturnType<typeof enveloped.parse>;
            let errors: readonly GraphQLError[];
            try {
              document = enveloped.parse(payload.query);
              errors = enveloped.validate(enveloped.schema, document);
            } catch (err) {
              const clientErrors = [toClientError(err, undefined, (e) => log.error({ err: e }, 'graphql-ws operation could not be parsed'))];
              requestLog.addErrors(trace, clientErrors);
              requestLog.finish(trace);
              return clientErrors;
            }
            const args = {
              schema: enveloped.schema,
              operationName: payload.operationName,
              document,
              variableValues: payload.variables,
              contextValue: await enveloped.contextFactory(),
              rootValue: { execute: enveloped.execute, subscribe: enveloped.subscribe },
            };
            if (errors.length) {
              // graphql-ws answers these with an error message and no `complete`: the line is written now.
              const clientErrors = errors.map((e: GraphQLError) => toClientError(e, undefined, () => {}));
              requestLog.addErrors(trace, clientErrors);
              requestLog.finish(trace);
              return clientErrors;
            }
            // Live streams hold memory and fan-out work per message: bounded per socket and per organization.
            const refusal = subscriptionLimits.start(ctx.extra.socket, id, ctx.extra.viewer.orgId, args.document, payload.operationName);
            if (refusal) {
              const error = domainToGraphQLError(new DomainError('RATE_LIMITED', refusal));
              requestLog.addErrors(trace, [error]);
              requestLog.finish(trace);
              return [error];
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
            subscriptionLimits.end(ctx.extra.socket, id);
            requestLog.addErrors(tracesOf(ctx.extra).get(id), errors);
          },
          onComplete: (ctx, id) => {
            subscriptionLimits.end(ctx.extra.socket, id);
            const trace = tracesOf(ctx.extra).get(id);
            tracesOf(ctx.extra).delete(id);
            if (trace) requestLog.finish(trace);
          },
          onClose: (ctx) => {
            subscriptionLimits.closeSocket(ctx.extra.socket);
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

interface EnvelopedRoot {
  execute: (args: unknown) => ReturnType<typeof import('graphql').execute>;
  subscribe: (args: unknown) => ReturnType<typeof import('graphql').subscribe>;
}
