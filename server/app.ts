import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createHash } from 'node:crypto';
import type { Registry } from 'prom-client';
import type { Logger } from './logger.js';
import type { Services } from './services/index.js';
import type { GraphQLServer } from './graphql/server.js';
import { createStaticHandler } from './staticFiles.js';
import { createExportRoute } from './exportRoute.js';
import { EXPORT_PATH } from './services/deliveryExport.js';
import { applyFramingPolicy } from './framing.js';

export interface AppDeps {
  /** /graphql, the JWKS and the console; null on a worker-only process. */
  graphql: GraphQLServer | null;
  services: Services;
  metrics: Registry;
  log: Logger;
  /** Readiness of the process: database reachable, queue started, worker holding its slots. */
  readiness: () => Promise<{ ready: boolean; checks: Record<string, string> }>;
  consoleDir: string | null;
  /** Origins that may frame the portal page (WEBHOOKS_PORTAL_FRAME_ANCESTORS). */
  portalFrameAncestors?: readonly string[];
}

export interface App {
  server: Server;
  start(port: number, host?: string): Promise<number>;
  stop(): Promise<void>;
}

/**
 * The HTTP surface: /graphql (HTTP and graphql-ws on the same path), /orgs/{id}/jwks.json and
 * the console on the api role; /healthz, /readyz, /metrics on every role.
 */
export function buildApp(deps: AppDeps): App {
  const { services, log, graphql } = deps;
  const api = graphql !== null;

  const staticHandler = api && deps.consoleDir ? createStaticHandler(deps.consoleDir) : null;
  const exportRoute = api ? createExportRoute({ services, log }) : null;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = url.pathname;
    applyFramingPolicy(res, path, deps.portalFrameAncestors ?? []);
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
    if (path === '/graphql') return graphql.handle(req, res);
    if (path === EXPORT_PATH && exportRoute) return exportRoute(req, res, url);
    if (path.startsWith('/graphiql/')) {
      if ((req.method === 'GET' || req.method === 'HEAD') && (await graphql.serveGraphiQLAsset(req, res, path))) return;
      return sendJson(res, 404, { error: 'Not found.' });
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

  graphql?.attach(server);

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
      await graphql?.stop();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
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
