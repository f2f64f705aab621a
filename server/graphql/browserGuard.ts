import type { IncomingMessage, ServerResponse } from 'node:http';
import { DomainError } from '../domain/errors.js';
import { httpErrorResponse } from './errors.js';

/**
 * What a browser page on another site may do with /graphql: nothing unless its origin is in
 * WEBHOOKS_CORS_ORIGINS (default: same origin only). Preflights from other origins get no CORS
 * headers, and a request carrying a foreign Origin is refused before it runs, so a form or a
 * `fetch` in `no-cors` mode cannot make the service act either. Credentials (cookies) are never
 * allowed: the API authenticates with a bearer key, which a page cannot attach cross-site.
 *
 * CSRF: a browser sends `application/x-www-form-urlencoded`, `multipart/form-data` and
 * `text/plain` cross-site without a preflight; /graphql refuses them (415), so every POST it
 * executes had a JSON content type, which a foreign page cannot send without the preflight.
 */
export function createBrowserGuard(options: { origins: readonly string[]; publicUrl: string | null }) {
  const anyOrigin = options.origins.includes('*');
  const allowed = new Set(options.origins);
  const publicOrigin = options.publicUrl ? new URL(options.publicUrl).origin : null;

  function originAllowed(origin: string, req: IncomingMessage): boolean {
    if (anyOrigin || allowed.has(origin) || origin === publicOrigin) return true;
    try {
      // Same origin: the page was served by this host (behind a TLS proxy the scheme differs).
      return new URL(origin).host === req.headers.host;
    } catch {
      return false;
    }
  }

  /** Answers preflights and refusals itself (returns true); otherwise sets the CORS headers and returns false. */
  function guard(req: IncomingMessage, res: ServerResponse): boolean {
    const origin = req.headers.origin;
    if (req.method === 'OPTIONS') {
      if (origin && originAllowed(origin, req)) {
        res.writeHead(204, {
          'access-control-allow-origin': origin,
          'access-control-allow-methods': 'GET, POST, OPTIONS',
          'access-control-allow-headers': 'authorization, content-type, accept, idempotency-key, traceparent',
          'access-control-max-age': '600',
          vary: 'Origin',
        });
      } else {
        res.writeHead(204, { vary: 'Origin' });
      }
      res.end();
      return true;
    }
    if (origin && origin !== 'null' && !originAllowed(origin, req)) {
      refuse(res, 403, 'FORBIDDEN', `Requests from the web origin ${origin.slice(0, 200)} are not allowed; an operator can add it to WEBHOOKS_CORS_ORIGINS.`);
      return true;
    }
    if (origin === 'null') {
      refuse(res, 403, 'FORBIDDEN', 'Requests from an opaque web origin (sandboxed frames, file: pages) are not allowed.');
      return true;
    }
    if (req.method === 'POST' && !jsonContentType(req.headers['content-type'])) {
      refuse(res, 415, 'BAD_USER_INPUT', 'POST /graphql needs "content-type: application/json" (form and multipart bodies are refused).');
      return true;
    }
    if (origin) {
      res.setHeader('access-control-allow-origin', origin);
      res.setHeader('access-control-expose-headers', 'x-request-id, idempotent-replayed');
      res.setHeader('vary', 'Origin');
    }
    return false;
  }

  return Object.assign(guard, {
    /** For WebSocket upgrades: no Origin (not a browser), or an allowed one. */
    allowsUpgrade: (req: IncomingMessage): boolean => {
      const origin = req.headers.origin;
      return !origin || (origin !== 'null' && originAllowed(origin, req));
    },
  });
}

const JSON_TYPES = new Set(['application/json', 'application/graphql+json', 'application/graphql-response+json', 'application/graphql']);

function jsonContentType(header: string | undefined): boolean {
  const type = (header ?? '').split(';')[0]!.trim().toLowerCase();
  return JSON_TYPES.has(type);
}

function refuse(res: ServerResponse, status: number, code: 'FORBIDDEN' | 'BAD_USER_INPUT', message: string): void {
  const answer = httpErrorResponse(new DomainError(code, message), status);
  res.writeHead(answer.status, { 'content-type': 'application/json' });
  res.end(answer.body);
}
