import { once } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from './logger.js';
import type { Services } from './services/index.js';
import type { DeliveryFilter } from './db/repos/deliveries.js';
import { exportFrame, type ExportFormat, type ExportRow } from './domain/deliveryExport.js';
import type { Viewer } from './services/auth.js';
import { badInput, DomainError, type ErrorCode } from './domain/errors.js';

const STATUSES = new Set(['PENDING', 'SUCCEEDED', 'DEAD', 'CANCELLED']);
const HTTP_STATUS: Partial<Record<ErrorCode, number>> = { UNAUTHENTICATED: 401, FORBIDDEN: 403, NOT_FOUND: 404, BAD_USER_INPUT: 400, RATE_LIMITED: 429 };

/**
 * `GET /exports/deliveries`: a filtered delivery list as CSV or JSON, streamed as it is read (with
 * the socket's backpressure), however many deliveries match. Authenticated like /graphql
 * (`Authorization: Bearer whk_...`, filter in the query string: format, endpointId, eventId,
 * status=DEAD,PENDING, eventType, since, until) or by a link from `createDeliveryExport`
 * (`?token=`). At most `maxConcurrent` exports run per process: each reads the database in a
 * loop, and the api's pool serves everyone else too.
 */
export function createExportRoute(deps: { services: Services; log: Logger; maxConcurrent?: number }) {
  const maxConcurrent = deps.maxConcurrent ?? 4;
  let running = 0;

  async function resolve(req: IncomingMessage, url: URL): Promise<{ viewer: Viewer; filter: DeliveryFilter; format: ExportFormat }> {
    const token = url.searchParams.get('token');
    if (token) return deps.services.deliveryExport.openLink(token);
    const viewer = await deps.services.authenticate(req.headers.authorization);
    // An embedded portal session sees only the endpoints of its labels; exports are org-wide.
    if (viewer.portal) throw new DomainError('FORBIDDEN', 'Exports need an API key; a portal session cannot export deliveries.');
    return { viewer, filter: filterFromQuery(url.searchParams), format: formatFromQuery(url.searchParams.get('format')) };
  }

  return async function handleExport(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: 'Use GET.' }));
      return;
    }
    let request: { viewer: Viewer; filter: DeliveryFilter; format: ExportFormat };
    try {
      request = await resolve(req, url);
      if (running >= maxConcurrent) throw new DomainError('RATE_LIMITED', `${maxConcurrent} exports are running on this server; try again in a moment.`);
    } catch (err) {
      if (!(err instanceof DomainError)) throw err;
      res.writeHead(HTTP_STATUS[err.code] ?? 400, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(JSON.stringify({ error: err.message, code: err.code, ...(err.field ? { field: err.field } : {}) }));
      return;
    }
    const { viewer, filter, format } = request;
    running++;
    try {
      const rows = deps.services.deliveryExport.rows(viewer, filter);
      // The first page is read before answering, so a refused export (role, filter) gets a status code.
      let first: IteratorResult<ExportRow[]>;
      try {
        first = await rows.next();
      } catch (err) {
        if (!(err instanceof DomainError)) throw err;
        res.writeHead(HTTP_STATUS[err.code] ?? 400, { 'content-type': 'application/json', 'cache-control': 'no-store' });
        res.end(JSON.stringify({ error: err.message, code: err.code }));
        return;
      }
      const stamp = new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19);
      res.writeHead(200, {
        'content-type': format === 'csv' ? 'text/csv; charset=utf-8' : 'application/json; charset=utf-8',
        'content-disposition': `attachment; filename="deliveries-${stamp}.${format}"`,
        'cache-control': 'no-store',
        'x-content-type-options': 'nosniff',
      });
      if (req.method === 'HEAD') {
        await rows.return(undefined);
        res.end();
        return;
      }
      const frame = exportFrame(format);
      let index = 0;
      const write = async (text: string): Promise<boolean> => {
        if (res.destroyed) return false;
        if (!res.write(text)) await Promise.race([once(res, 'drain'), once(res, 'close')]);
        return !res.destroyed;
      };
      if (!(await write(frame.start))) return;
      for (let page = first; !page.done; page = await rows.next()) {
        let chunk = '';
        for (const row of page.value) chunk += frame.row(row, index++);
        if (!(await write(chunk))) {
          // The client went away: stop reading the database.
          await rows.return(undefined);
          return;
        }
      }
      res.end(frame.end);
      deps.log.info({ orgId: viewer.orgId, apiKeyId: viewer.apiKeyId, format, rows: index }, 'delivery export finished');
    } finally {
      running--;
    }
  };
}

function formatFromQuery(value: string | null): ExportFormat {
  if (value === null || value === 'csv') return 'csv';
  if (value === 'json') return 'json';
  throw badInput(`format must be "csv" or "json" (got ${JSON.stringify(value)}).`, 'format');
}

function dateParam(params: URLSearchParams, name: string): Date | null {
  const value = params.get(name);
  if (!value) return null;
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) throw badInput(`${name} must be an ISO-8601 date-time (got ${JSON.stringify(value)}).`, name);
  return date;
}

/** The DeliveryFilter of a Bearer-authenticated export, from the query string. */
export function filterFromQuery(params: URLSearchParams): DeliveryFilter {
  const statuses = (params.get('status') ?? '')
    .split(',')
    .map((s) => s.trim().toUpperCase())
    .filter(Boolean);
  const unknown = statuses.filter((s) => !STATUSES.has(s));
  if (unknown.length) throw badInput(`status must list PENDING, SUCCEEDED, DEAD or CANCELLED (got ${unknown.join(', ')}).`, 'status');
  return {
    endpointId: params.get('endpointId') || null,
    eventId: params.get('eventId') || null,
    statuses: statuses.length ? (statuses as DeliveryFilter['statuses']) : null,
    eventType: params.get('eventType') || null,
    since: dateParam(params, 'since'),
    until: dateParam(params, 'until'),
  };
}
