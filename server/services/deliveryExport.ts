import type { Database } from '../db/client.js';
import { findApiKeyById } from '../db/repos/apiKeys.js';
import { createDeliveriesRepo, type DeliveryFilter } from '../db/repos/deliveries.js';
import { createEndpointsRepo } from '../db/repos/endpoints.js';
import type { SecretBox } from '../crypto/secretBox.js';
import type { ExportFormat, ExportRow } from '../domain/deliveryExport.js';
import { splitUrlSecret } from '../domain/endpointSecrets.js';
import { openUrl } from '../crypto/endpointSecrets.js';
import { badInput, DomainError } from '../domain/errors.js';
import { roleCan } from '../domain/roles.js';
import type { Viewer } from './auth.js';

/** How long a download link works: long enough for the browser to start the download. */
export const EXPORT_LINK_TTL_MS = 60_000;
/** Deliveries read per query while streaming (the list's largest page). */
const EXPORT_PAGE = 500;
export const EXPORT_PATH = '/exports/deliveries';

interface LinkClaims {
  v: 1;
  /** API key that asked; the link dies with it (revocation, role change). */
  k: string;
  f: { endpointId?: string | null; eventId?: string | null; statuses?: string[] | null; eventType?: string | null; since?: string | null; until?: string | null };
  fmt: ExportFormat;
  exp: number;
}

/**
 * Exports of a filtered delivery list, streamed page by page (never capped at one page) to the
 * HTTP route `GET /exports/deliveries`. Scripts call the route with `Authorization: Bearer`; the
 * console, which cannot put a header on a download, asks `createDeliveryExport` for a link: a
 * short-lived token sealed with the master key (AES-GCM: it cannot be forged or read) that names
 * the API key, the filter and the format. The key is checked again when the link is used.
 */
export function createDeliveryExportService(deps: { database: Database; secretBox: SecretBox; historyRetentionDays: number }) {
  const deliveries = createDeliveriesRepo(deps.database.db, { historyRetentionDays: deps.historyRetentionDays });
  const endpoints = createEndpointsRepo(deps.database.db);

  function checkFilter(filter: DeliveryFilter): void {
    if (filter.since && filter.until && filter.since >= filter.until) throw badInput('"since" must be before "until".', 'filter.since');
  }

  return {
    /** A link that downloads the export once opened within a minute. */
    createLink(viewer: Viewer, filter: DeliveryFilter, format: ExportFormat, nowMs = Date.now()): { url: string; expiresAt: Date } {
      checkFilter(filter);
      const claims: LinkClaims = {
        v: 1,
        k: viewer.apiKeyId,
        f: {
          endpointId: filter.endpointId ?? null,
          eventId: filter.eventId ?? null,
          statuses: filter.statuses ?? null,
          eventType: filter.eventType ?? null,
          since: filter.since?.toISOString() ?? null,
          until: filter.until?.toISOString() ?? null,
        },
        fmt: format,
        exp: nowMs + EXPORT_LINK_TTL_MS,
      };
      const token = Buffer.from(deps.secretBox.seal(JSON.stringify(claims))).toString('base64url');
      return { url: `${EXPORT_PATH}?token=${token}`, expiresAt: new Date(claims.exp) };
    },

    /** The caller, filter and format a link stands for; UNAUTHENTICATED when it is forged, expired or its key revoked. */
    async openLink(token: string, nowMs = Date.now()): Promise<{ viewer: Viewer; filter: DeliveryFilter; format: ExportFormat }> {
      let claims: LinkClaims;
      try {
        claims = JSON.parse(deps.secretBox.openText(Buffer.from(token, 'base64url').toString('utf8'))) as LinkClaims;
      } catch {
        throw new DomainError('UNAUTHENTICATED', 'This export link is not valid; start the export again from the console.');
      }
      if (claims.v !== 1 || typeof claims.exp !== 'number' || claims.exp < nowMs) {
        throw new DomainError('UNAUTHENTICATED', 'This export link has expired (links work for a minute); start the export again.');
      }
      const found = await findApiKeyById(deps.database.sql, claims.k);
      if (!found || found.key.revokedAt) throw new DomainError('UNAUTHENTICATED', 'The API key that created this export link was revoked.');
      const viewer: Viewer = {
        orgId: found.org.id,
        orgName: found.org.name,
        plan: found.org.plan,
        role: found.key.role,
        apiKeyId: found.key.id,
        apiKeyName: found.key.name,
      };
      const f = claims.f;
      const filter: DeliveryFilter = {
        endpointId: f.endpointId,
        eventId: f.eventId,
        statuses: f.statuses as DeliveryFilter['statuses'],
        eventType: f.eventType,
        since: f.since ? new Date(f.since) : null,
        until: f.until ? new Date(f.until) : null,
      };
      return { viewer, filter, format: claims.fmt === 'json' ? 'json' : 'csv' };
    },

    /**
     * Every delivery matching the filter, newest first, a page at a time: each page is one short
     * query (plus one for its endpoints and one for its last attempts), so a long export holds no
     * connection or transaction between pages.
     */
    async *rows(viewer: Viewer, filter: DeliveryFilter): AsyncGenerator<ExportRow[]> {
      if (!roleCan(viewer.role, 'read')) {
        throw new DomainError('FORBIDDEN', `This API key has the ${viewer.role} role, which cannot read deliveries. Use a viewer, operator or admin key.`);
      }
      checkFilter(filter);
      const maskUrls = !roleCan(viewer.role, 'readPayload');
      const urls = new Map<string, string>();
      let after: string | null = null;
      for (;;) {
        const page = await deliveries.list(viewer.orgId, filter, { first: EXPORT_PAGE, after });
        if (page.nodes.length === 0) return;
        const missing = [...new Set(page.nodes.map((d) => d.endpointId))].filter((id) => !urls.has(id));
        for (const e of await endpoints.findByIds(missing)) urls.set(e.id, maskUrls ? splitUrlSecret(e.url).display : openUrl(deps.secretBox, e));
        const attemptIds = page.nodes.map((d) => d.lastAttemptId).filter((id): id is string => id !== null);
        const attempts = new Map((await deliveries.attemptsByIds(attemptIds)).map((a) => [a.id, a]));
        yield page.nodes.map((d) => {
          const last = d.lastAttemptId ? attempts.get(d.lastAttemptId) : undefined;
          return {
            deliveryId: d.id,
            status: d.status,
            eventId: d.eventId,
            eventType: d.eventType,
            endpointId: d.endpointId,
            endpointUrl: urls.get(d.endpointId) ?? '',
            attempts: d.attemptCount,
            isTest: d.isTest,
            orderingKey: d.orderingKey,
            createdAt: d.createdAt,
            lastAttemptAt: d.lastAttemptAt,
            nextAttemptAt: d.nextAttemptAt,
            completedAt: d.completedAt,
            lastResponseStatus: last?.responseStatus ?? null,
            lastErrorClass: last?.errorClass ?? null,
            lastErrorMessage: last?.errorMessage ?? null,
          };
        });
        if (!page.hasNextPage) return;
        after = page.nodes[page.nodes.length - 1]!.id;
      }
    },
  };
}
export type DeliveryExportService = ReturnType<typeof createDeliveryExportService>;
