import type { IncomingMessage, Server } from 'node:http';
import { randomUUID } from 'node:crypto';
import type { GraphQLError } from 'graphql';
import type { YogaServerInstance } from 'graphql-yoga';
import { WebSocketServer } from 'ws';
import { useServer } from 'graphql-ws/use/ws';
import type { Logger } from '../logger.js';
import { DomainError } from '../domain/errors.js';
import type { Services } from '../services/index.js';
import type { Viewer } from '../services/auth.js';
import { domainToGraphQLError, toClientError } from './errors.js';
import type { OperationTrace, RequestLog } from './requestLog.js';
import { clientAddress } from './clientAddress.js';
import { createSubscriptionLimits } from './subscriptionLimits.js';

export interface WsTransportDeps {
  server: Server;
  // The yoga instance's server context is ours (server.ts); only getEnveloped is used here.
  yoga: YogaServerInstance<Record<string, unknown>, Record<string, unknown>>;
  services: Services;
  log: Logger;
  requestLog: RequestLog;
  /** Browsers do not apply CORS to WebSockets: upgrades from other origins are refused here. */
  allowsUpgrade(req: IncomingMessage): boolean;
  trustProxyHops: number;
  operationsPerSocket: number;
  operationsPerOrganization: number;
}

interface Extra {
  socket: { close(code: number, reason: string): void; pause?(): void; terminate?(): void };
  /** Operations refused by the limits on this socket. */
  refused?: number;
  /** The last operation start of this socket (starts are spread over event-loop turns). */
  starting?: Promise<void>;
  request: IncomingMessage;
  viewer?: Viewer;
  authorization?: string | null;
  clientAddress?: string | null;
  traces?: Map<string, OperationTrace>;
}

/** Refusals a socket gets before it is closed. */
export const REFUSALS_BEFORE_CLOSE = 100;

// Refusals are built once per message: a burst of them must cost no stack trace each.
const refusals = new Map<string, GraphQLError>();
function refusalError(message: string): GraphQLError {
  let error = refusals.get(message);
  if (!error) refusals.set(message, (error = domainToGraphQLError(new DomainError('RATE_LIMITED', message))));
  return error;
}

interface EnvelopedRoot {
  execute: (args: unknown) => ReturnType<typeof import('graphql').execute>;
  subscribe: (args: unknown) => ReturnType<typeof import('graphql').subscribe>;
}

/**
 * graphql-ws on the /graphql path of `server`, through yoga's envelop (both transports share
 * plugins, limits, error masking and context). Authenticated in connection_init and again for
 * every operation; a revoked key closes its sockets at once (here or on another process).
 */
export function attachWsTransport(deps: WsTransportDeps): { stop(): Promise<void> } {
  const { services, log, requestLog, yoga } = deps;
  const limits = createSubscriptionLimits({ perSocket: deps.operationsPerSocket, perOrganization: deps.operationsPerOrganization });
  // Open sockets by the API key they authenticated with.
  const socketsByKey = new Map<string, Set<Extra['socket']>>();
  const stopWatchingRevocations = services.authenticate.onRevoked((apiKeyId) => {
    for (const socket of socketsByKey.get(apiKeyId) ?? []) socket.close(4401, 'This API key was revoked; ask an admin for a new one.');
    socketsByKey.delete(apiKeyId);
  });
  const wsServer = new WebSocketServer({
    server: deps.server,
    path: '/graphql',
    maxPayload: 1024 * 1024,
    verifyClient: ({ req }: { req: IncomingMessage }) => deps.allowsUpgrade(req),
  });
  // The HTTP server reports listen errors (port in use); the WebSocket server re-emits them.
  wsServer.on('error', () => {});
  // Operations of one socket being traced, by graphql-ws operation id.
  const tracesOf = (extra: Extra) => (extra.traces ??= new Map());

  /** Authenticates again, parses, validates and prepares one operation: its args, or its errors. */
  async function startOperation(extra: Extra, id: string, payload: { query: string; operationName?: string | null; variables?: Record<string, unknown> | null }) {
    // The key is checked again for every operation: one revoked while the socket was open
    // starts nothing more (the console keeps its socket for hours).
    try {
      extra.viewer = await services.authenticate(extra.authorization, { clientAddress: extra.clientAddress ?? null });
    } catch (err) {
      const known = err instanceof DomainError;
      if (!known) log.error({ err }, 'graphql-ws authentication failed');
      extra.socket.close(known ? 4401 : 4500, known ? err.message.slice(0, 120) : 'Internal error; try again.');
      return [toClientError(err, undefined, () => {})];
    }
    const trace = requestLog.start(randomUUID(), 'ws');
    const enveloped = yoga.getEnveloped({ wsViewer: extra.viewer, params: payload, requestId: trace.requestId, trace });
    const fail = (clientErrors: GraphQLError[]) => {
      // graphql-ws answers these with an error message and no `complete`: the line is written now.
      requestLog.addErrors(trace, clientErrors);
      requestLog.finish(trace);
      return clientErrors;
    };
    // The request limits refuse by throwing from parse (tokens, nesting) or validation (aliases,
    // depth, directives): answered as errors of this operation, not a closed socket.
    let document: ReturnType<typeof enveloped.parse>;
    let errors: readonly GraphQLError[];
    try {
      document = enveloped.parse(payload.query);
      errors = enveloped.validate(enveloped.schema, document);
    } catch (err) {
      return fail([toClientError(err, undefined, (e) => log.error({ err: e }, 'graphql-ws operation could not be parsed'))]);
    }
    if (errors.length) return fail(errors.map((e) => toClientError(e, undefined, () => {})));
    tracesOf(extra).set(id, trace);
    return {
      schema: enveloped.schema,
      operationName: payload.operationName,
      document,
      variableValues: payload.variables,
      contextValue: await enveloped.contextFactory(),
      rootValue: { execute: enveloped.execute, subscribe: enveloped.subscribe },
    };
  }

  const cleanup = useServer<Record<string, unknown>, Omit<Extra, 'socket' | 'request'>>(
    {
      execute: (args) => (args.rootValue as EnvelopedRoot).execute(args),
      subscribe: (args) => (args.rootValue as EnvelopedRoot).subscribe(args),
      // A missing or bad key closes the socket with 4401 and the reason, before any operation.
      onConnect: async (ctx) => {
        const extra = ctx.extra as Extra;
        const params = ctx.connectionParams ?? {};
        const authorization = params.authorization ?? params.Authorization;
        try {
          extra.authorization = typeof authorization === 'string' ? authorization : null;
          extra.clientAddress = clientAddress(extra.request, deps.trustProxyHops);
          extra.viewer = await services.authenticate(extra.authorization, { clientAddress: extra.clientAddress });
          const apiKeyId = extra.viewer.apiKeyId;
          let sockets = socketsByKey.get(apiKeyId);
          if (!sockets) socketsByKey.set(apiKeyId, (sockets = new Set()));
          sockets.add(extra.socket);
          return true;
        } catch (err) {
          if (err instanceof DomainError) {
            log.info({ code: err.code }, 'graphql-ws connection refused');
            extra.socket.close(err.code === 'RATE_LIMITED' ? 4429 : 4401, err.message.slice(0, 120));
            return false;
          }
          // Not the caller's fault (database down): 4500, which clients retry, not 4401.
          log.error({ err }, 'graphql-ws authentication failed');
          extra.socket.close(4500, 'Internal error; try again.');
          return false;
        }
      },
      onSubscribe: async (ctx, id, payload) => {
        const extra = ctx.extra as Extra;
        // Operations open at once are bounded per socket and per organization, checked before any
        // other work: 5,000 subscribe messages sent in one burst are refused for the price of a
        // counter each (and not logged one by one).
        const refusal = limits.reserve(extra.socket, id, extra.viewer?.orgId ?? '');
        if (refusal) {
          // A client that goes on opening operations long past its limit is flooding: after
          // REFUSALS_BEFORE_CLOSE refusals its socket is closed (4429) and what it still sends is dropped.
          extra.refused = (extra.refused ?? 0) + 1;
          // It is paused at once (frames not read yet are never parsed), closed once the refusals
          // already answered are written (they and the close frame reach the client), and cut a
          // second later (paused, it would not read the client's side of the closing handshake).
          if (extra.refused === REFUSALS_BEFORE_CLOSE) {
            const socket = extra.socket;
            socket.pause?.();
            setImmediate(() => socket.close(4429, 'Too many operations refused on this connection; open fewer at once.'));
            setTimeout(() => socket.terminate?.(), 1000).unref();
          }
          return [refusalError(refusal)];
        }
        // The operations of one socket start one per event-loop turn: fifty subscribe messages
        // arriving in one TCP read would otherwise start back to back, every other request
        // waiting behind them.
        const turn = (extra.starting ?? Promise.resolve()).then(() => new Promise<void>((resolve) => setImmediate(resolve)));
        const starting = turn.then(() => startOperation(extra, id, payload));
        extra.starting = starting.then(
          () => undefined,
          () => undefined,
        );
        const started = await starting;
        if (Array.isArray(started)) limits.end(extra.socket, id);
        return started as never;
      },
      onNext: (ctx, id, _payload, _args, result) => {
        const trace = tracesOf(ctx.extra as Extra).get(id);
        if (!trace) return;
        trace.messages++;
        requestLog.addErrors(trace, result.errors);
      },
      onError: (ctx, id, _payload, errors) => {
        limits.end((ctx.extra as Extra).socket, id);
        requestLog.addErrors(tracesOf(ctx.extra as Extra).get(id), errors);
      },
      onComplete: (ctx, id) => {
        const extra = ctx.extra as Extra;
        limits.end(extra.socket, id);
        const trace = tracesOf(extra).get(id);
        tracesOf(extra).delete(id);
        if (trace) requestLog.finish(trace);
      },
      onClose: (ctx) => {
        const extra = ctx.extra as Extra;
        limits.closeSocket(extra.socket);
        const apiKeyId = extra.viewer?.apiKeyId;
        const sockets = apiKeyId ? socketsByKey.get(apiKeyId) : undefined;
        sockets?.delete(extra.socket);
        if (apiKeyId && sockets?.size === 0) socketsByKey.delete(apiKeyId);
        // Operations graphql-ws ended without `complete` (e.g. "Unable to identify operation").
        for (const trace of tracesOf(extra).values()) requestLog.finish(trace);
        tracesOf(extra).clear();
      },
    },
    wsServer,
  );

  return {
    async stop() {
      stopWatchingRevocations();
      await cleanup.dispose();
      for (const client of wsServer.clients) client.terminate();
      wsServer.close();
    },
  };
}
