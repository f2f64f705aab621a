import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import { createYoga } from 'graphql-yoga';
import type { GraphQLSchema } from 'graphql';
import type { Logger } from '../logger.js';
import { DomainError } from '../domain/errors.js';
import type { Services } from '../services/index.js';
import type { Viewer } from '../services/auth.js';
import type { PlatformPrincipal } from '../services/platform.js';
import { createContext } from './context.js';
import { createLoaders } from './loaders.js';
import { httpErrorResponse, toClientError } from './errors.js';
import type { LivePubSub } from './liveTopics.js';
import { createRequestLog, type OperationTrace } from './requestLog.js';
import { createInputGuardPlugin } from './inputGuard.js';
import { createGraphiQL } from './graphiql.js';
import { createIdempotencyPlugin } from './idempotency.js';
import { createBodyLimitPlugin, requestBodyLimits, type RequestBodyLimits } from './bodyLimit.js';
import { createQueryLimitPlugins, DEFAULT_QUERY_LIMITS, type QueryLimits } from './queryLimits.js';
import { createBrowserGuard } from './browserGuard.js';
import { clientAddress } from './clientAddress.js';
import { attachWsTransport } from './wsTransport.js';

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
  platform: PlatformPrincipal | null;
  authError: DomainError | null;
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

/** The answer to a request from an address past its failed-authentication limit, built once. */
const RATE_LIMITED_BODY = Buffer.from(
  httpErrorResponse(new DomainError('RATE_LIMITED', 'Too many failed authentications from this address; wait for the time in Retry-After.')).body,
);

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
  const graphiql = createGraphiQL({ title: 'Org webhooks GraphQL', endpoint: '/graphql', subscriptionsProtocol: 'WS' });
  const browserGuard = createBrowserGuard({ origins: deps.corsOrigins ?? [], publicUrl: deps.publicUrl ?? null });
  const trustProxyHops = deps.trustProxyHops ?? 0;

  /** Authenticates from the header, before the body is read: anonymous callers get the small body limit. */
  async function authenticateRequest(req: IncomingMessage): Promise<Authentication> {
    const authorization = req.headers.authorization;
    if (!authorization) return { viewer: null, platform: null, authError: null };
    // The platform operator's token first: it is not an API key, and it reads no organization.
    const platform = services.platform.identify(authorization);
    if (platform) return { viewer: null, platform, authError: null };
    try {
      return { viewer: await services.authenticate(authorization, { clientAddress: clientAddress(req, trustProxyHops) }), platform: null, authError: null };
    } catch (err) {
      if (!(err instanceof DomainError)) throw err;
      return { viewer: null, platform: null, authError: err };
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
      // After the input guard and the limits: a request refused for its input claims no key.
      createIdempotencyPlugin(services.idempotency),
      createBodyLimitPlugin((serverContext) => (serverContext as { bodyLimit?: number }).bodyLimit ?? bodyLimits.anonymous),
    ],
    maxRequestBodySize: false,
    // CORS is answered by browserGuard before yoga (yoga's default reflects any origin).
    cors: false,
    // Form-encoded and multipart bodies are refused by browserGuard; GET serves queries only.
    multipart: false,
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
      const auth = initial.auth ?? { viewer: null, platform: null, authError: null };
      return createContext({
        requestId,
        viewer: auth.viewer,
        platform: auth.platform,
        authError: auth.authError,
        services,
        live,
        loaders: createLoaders(services, auth.viewer),
        requestOrigin: requestOrigin(initial.request),
        traceparent: initial.request.headers.get('traceparent'),
      });
    },
  });

  let ws: { stop(): Promise<void> } | null = null;

  return {
    async handle(req, res) {
      if (browserGuard(req, res)) return;
      // An address past its failed-authentication limit is answered before anything else is
      // done for it (no lookup, no log line, a prepared body): a flood of guesses costs little.
      if (req.headers.authorization) {
        const blockedFor = services.authenticate.blockedForSeconds(clientAddress(req, trustProxyHops));
        if (blockedFor > 0) {
          res.writeHead(429, { 'content-type': 'application/json', 'retry-after': String(blockedFor), 'content-length': RATE_LIMITED_BODY.length });
          res.end(RATE_LIMITED_BODY);
          return;
        }
      }
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
      const maxBody = auth.viewer || auth.platform ? bodyLimits.authenticated : bodyLimits.anonymous;
      const length = Number(req.headers['content-length'] ?? 0);
      if (length > maxBody) {
        const trace = requestLog.start(randomUUID(), 'http');
        trace.errorCodes.add('PAYLOAD_TOO_LARGE');
        const answer = httpErrorResponse(
          new DomainError('PAYLOAD_TOO_LARGE', `Request body is ${length} bytes; the limit is ${maxBody}${auth.viewer || auth.platform ? '' : ' without a valid API key'}.`),
        );
        requestLog.finish(trace, { status: answer.status });
        // The body is not read: Node would otherwise read (and drop) all of it to keep the
        // connection, 16 MB for an anonymous alias bomb. The connection is closed instead.
        res.writeHead(answer.status, { 'content-type': 'application/json', connection: 'close' });
        res.end(answer.body, () => req.socket.destroy());
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

    serveGraphiQLAsset: (req, res, path) => graphiql.serveAsset(req, res, path),

    attach(server) {
      ws = attachWsTransport({
        server,
        yoga: yoga as never,
        services,
        log,
        requestLog,
        allowsUpgrade: browserGuard.allowsUpgrade,
        trustProxyHops,
        operationsPerSocket: deps.subscriptionsPerSocket ?? 50,
        operationsPerOrganization: deps.subscriptionsPerOrganization ?? 100,
      });
    },

    async stop() {
      await ws?.stop();
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
