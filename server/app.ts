import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createHash, randomUUID } from 'node:crypto';
import { createYoga } from 'graphql-yoga';
import { WebSocketServer } from 'ws';
import { useServer } from 'graphql-ws/use/ws';
import { GraphQLError, type GraphQLSchema } from 'graphql';
import type { Registry } from 'prom-client';
import type { Logger } from './logger.js';
import type { Role } from './config.js';
import { DomainError } from './domain/errors.js';
import type { Services } from './services/index.js';
import type { Viewer } from './services/auth.js';
import { createContext, type GraphQLContext } from './graphql/context.js';
import { createLoaders } from './graphql/loaders.js';
import { toClientError } from './graphql/errors.js';
import type { LivePubSub } from './graphql/pubsub.js';
import { createRequestLog, type OperationTrace } from './graphql/requestLog.js';
import { createInputGuardPlugin } from './graphql/inputGuard.js';
import { createStaticHandler } from './staticFiles.js';

export interface AppDeps {
  roles: Set<Role>;
  schema: GraphQLSchema;
  services: Services;
  metrics: Registry;
  log: Logger;
  /** Live topics for GraphQL subscriptions (api role). */
  live?: LivePubSub | null;
  /** Called once per GraphQL operation (metrics). */
  onOperation?: (type: string, ok: boolean, durationMs: number) => void;
  /** Readiness of the process: database reachable, queue started, worker holding its slots. */
  readiness: () => Promise<{ ready: boolean; checks: Record<string, string> }>;
  consoleDir: string | null;
  maxRequestBodyBytes?: number;
}

export interface App {
  server: Server;
  start(port: number, host?: string): Promise<number>;
  stop(): Promise<void>;
}

const MAX_BODY_DEFAULT = 64 * 1024 * 1024;

/**
 * The HTTP surface: /graphql (HTTP and graphql-ws on the same path), /orgs/{id}/jwks.json and
 * the console on the api role; /healthz, /readyz, /metrics on every role.
 */
export function buildApp(deps: AppDeps): App {
  const { services, log } = deps;
  const api = deps.roles.has('api');
  const maxBody = deps.maxRequestBodyBytes ?? MAX_BODY_DEFAULT;
  const live = deps.live ?? null;
  const requestLog = createRequestLog({ log, onOperation: deps.onOperation });

  async function contextFor(authorization: string | null | undefined, requestId: string): Promise<GraphQLContext> {
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
    return createContext({ requestId, viewer, authError, services, live, loaders: createLoaders(services, viewer) });
  }

  // Both transports build their context here: HTTP from the Authorization header, graphql-ws
  // from the viewer resolved once in connection_init.
  const yoga = createYoga<{ requestId?: string; wsViewer?: Viewer; trace?: OperationTrace }>({
    schema: deps.schema,
    plugins: [requestLog.plugin, createInputGuardPlugin()],
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
      return contextFor(initial.request.headers.get('authorization'), requestId);
    },
  });

  const staticHandler = api && deps.consoleDir ? createStaticHandler(deps.consoleDir) : null;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = url.pathname;
    if (path === '/healthz') return sendJson(res, 200, { status: 'ok' });
    if (path === '/readyz') {
      const result = await deps.readiness();
      return sendJson(res, result.ready ? 200 : 503, { status: result.ready ? 'ready' : 'not ready', checks: result.checks });
    }
    if (path === '/metrics') {
      res.writeHead(200, { 'content-type': deps.metrics.contentType });
      res.end(await deps.metrics.metrics());
      return;
    }
    if (!api) return sendJson(res, 404, { error: 'This process runs the worker role only.' });
    if (path === '/graphql') {
      const length = Number(req.headers['content-length'] ?? 0);
      if (length > maxBody) {
        const trace = requestLog.start(randomUUID(), 'http');
        trace.errorCodes.add('PAYLOAD_TOO_LARGE');
        requestLog.finish(trace, { status: 413 });
        return sendJson(res, 413, {
          errors: [{ message: `Request body is ${length} bytes; the limit is ${maxBody}.`, extensions: { code: 'PAYLOAD_TOO_LARGE' } }],
        });
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
      return;
    }
    const jwks = /^\/orgs\/([^/]+)\/jwks\.json$/.exec(path);
    if (jwks) {
      const orgId = safeDecodeURIComponent(jwks[1]!);
      const keys = orgId === null ? null : await services.signingKeys.jwks(orgId);
      if (!keys) return sendJson(res, 404, { error: 'Unknown organization.' });
      const body = JSON.stringify(keys);
      // Receivers refetch the JWKS whenever a signature fails to verify: the ETag makes that a 304.
      const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`;
      const headers = {
        // Short enough that a rotation reaches receivers well inside the default 24 h grace period.
        'cache-control': 'public, max-age=300, stale-while-revalidate=60',
        'access-control-allow-origin': '*',
        etag,
      };
      if (etagMatches(req.headers['if-none-match'], etag)) {
        res.writeHead(304, headers);
        res.end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json', ...headers });
      res.end(body);
      return;
    }
    if (staticHandler && (req.method === 'GET' || req.method === 'HEAD')) return staticHandler(req, res, path);
    return sendJson(res, 404, { error: 'Not found.' });
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err) => {
      log.error({ err, path: req.url?.split('?')[0] }, 'request failed');
      if (!res.headersSent) sendJson(res, 500, { error: 'Internal error.' });
      else res.destroy();
    });
  });
  server.keepAliveTimeout = 65_000;

  let wsServer: WebSocketServer | null = null;
  let wsCleanup: { dispose: () => void | Promise<void> } | null = null;
  if (api) {
    wsServer = new WebSocketServer({ server, path: '/graphql', maxPayload: 1024 * 1024 });
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
          // Operations graphql-ws ended without `complete` (e.g. "Unable to identify operation").
          for (const trace of tracesOf(ctx.extra).values()) requestLog.finish(trace);
          tracesOf(ctx.extra).clear();
        },
      },
      wsServer,
    );
  }

  return {
    server,
    start: (port, host) =>
      new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          const address = server.address();
          resolve(typeof address === 'object' && address ? address.port : port);
        });
      }),
    async stop() {
      await wsCleanup?.dispose();
      for (const client of wsServer?.clients ?? []) client.terminate();
      wsServer?.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

interface EnvelopedRoot {
  execute: (args: unknown) => ReturnType<typeof import('graphql').execute>;
  subscribe: (args: unknown) => ReturnType<typeof import('graphql').subscribe>;
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

/** decodeURIComponent, or null for a malformed escape (answered 404, not 500). */
function safeDecodeURIComponent(text: string): string | null {
  try {
    return decodeURIComponent(text);
  } catch {
    return null;
  }
}

/** If-None-Match (weak comparison, RFC 9110 §13.1.2): `*` or a list of possibly weak tags. */
function etagMatches(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  return header.split(',').some((tag) => {
    const t = tag.trim();
    return t === '*' || t.replace(/^W\//, '') === etag;
  });
}
