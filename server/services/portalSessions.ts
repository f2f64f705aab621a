import type { Database } from '../db/client.js';
import { CHANNELS } from '../db/notifications.js';
import { createPortalSessionsRepo } from '../db/repos/portalSessions.js';
import { assertNoProblems, DomainError } from '../domain/errors.js';
import { validatePortalSession, type PortalSessionRequest } from '../domain/portalSessions.js';
import { newId } from '../crypto/random.js';
import type { Viewer } from './auth.js';
import { newPortalToken, PORTAL_LINK_PREFIX, PORTAL_SESSION_PREFIX, portalViewer, type PortalAuthenticator } from './portalAuth.js';
import { hashApiKey } from './apiKeyTokens.js';

/** The path of the portal page (app.ts serves it with the embedding CSP, server/framing.ts). */
export const PORTAL_PATH = '/portal';

/**
 * Embeddable portal sessions: a platform's admin creates one for its user and embeds the URL in
 * its own settings page. The URL carries a one-time link token in its fragment (never sent to a
 * server, so never in access logs or Referer headers); the portal page trades it for a session
 * token held in the page's memory. Sessions are short-lived, scoped to an organization, a role
 * and optionally labels, and are not API keys: they cannot manage API keys, event types or
 * portal sessions, nor publish.
 */
export function createPortalSessionService(deps: { database: Database; portalAuth: PortalAuthenticator; publicUrl: string | null }) {
  const repo = createPortalSessionsRepo(deps.database.sql);

  return {
    async create(viewer: Viewer, input: PortalSessionRequest, requestOrigin: string | null): Promise<{ id: string; url: string; expiresAt: Date }> {
      if (viewer.portal) throw new DomainError('FORBIDDEN', 'A portal session cannot create portal sessions; use an admin API key.');
      const validated = validatePortalSession(input);
      if (!validated.ok) {
        assertNoProblems(validated.problems);
        throw new Error('unreachable');
      }
      const settings = validated.value;
      const base = (deps.publicUrl ?? requestOrigin ?? '').replace(/\/+$/, '');
      if (!base) throw new DomainError('BAD_USER_INPUT', 'The server does not know its public address; set WEBHOOKS_PUBLIC_URL.');
      const link = newPortalToken(PORTAL_LINK_PREFIX);
      const id = newId('portalSession');
      const expiresAt = new Date(Date.now() + settings.ttlSeconds * 1000);
      await repo.insert({
        id,
        orgId: viewer.orgId,
        role: settings.role,
        labels: settings.labels,
        displayName: settings.displayName,
        accentColor: settings.accentColor,
        linkHash: link.hash,
        createdByKeyId: viewer.apiKeyId,
        expiresAt,
      });
      return { id, url: `${base}${PORTAL_PATH}#token=${link.token}`, expiresAt };
    },

    /** Trades a portal link's one-time token for a session token (the portal page does this on load). */
    async exchange(linkToken: string): Promise<{ sessionToken: string; viewer: Viewer }> {
      const invalid = new DomainError('UNAUTHENTICATED', 'This portal link was already used, has expired or was revoked; open the portal again from the platform.');
      if (!linkToken.startsWith(PORTAL_LINK_PREFIX)) throw invalid;
      const session = newPortalToken(PORTAL_SESSION_PREFIX);
      const row = await repo.exchange(hashApiKey(linkToken), session.hash);
      if (!row) throw invalid;
      return { sessionToken: session.token, viewer: portalViewer(row) };
    },

    /** Ends every portal session of the organization at once, in every process (open sockets close). */
    async revokeAll(viewer: Viewer): Promise<number> {
      if (viewer.portal) throw new DomainError('FORBIDDEN', 'A portal session cannot revoke portal sessions; use an admin API key.');
      const count = await repo.revokeAll(viewer.orgId);
      deps.portalAuth.revokeOrg(viewer.orgId);
      await deps.database.sql`SELECT pg_notify(${CHANNELS.portalSessionsRevoked}, ${viewer.orgId})`;
      return count;
    },
  };
}
export type PortalSessionService = ReturnType<typeof createPortalSessionService>;
