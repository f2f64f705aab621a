import { randomBytes } from 'node:crypto';
import type { Sql } from 'postgres';
import { DomainError } from '../domain/errors.js';
import { CHANNELS } from '../db/notifications.js';
import { createListener } from '../db/listener.js';
import { createPortalSessionsRepo, type PortalSessionAuth } from '../db/repos/portalSessions.js';
import type { Logger } from '../logger.js';
import { hashApiKey } from './apiKeyTokens.js';
import type { Viewer } from './auth.js';

/** Session tokens (held by the portal page, sent as Bearer) and one-time link tokens (in the URL fragment). */
export const PORTAL_SESSION_PREFIX = 'whps_';
export const PORTAL_LINK_PREFIX = 'whpl_';

const CACHE_TTL_MS = 30_000;
const CACHE_MAX = 10_000;

/** A fresh token with `prefix`; only its hash is ever stored. */
export function newPortalToken(prefix: string): { token: string; hash: string } {
  const token = prefix + randomBytes(32).toString('base64url');
  return { token, hash: hashApiKey(token) };
}

/** The Viewer a portal session acts as: its organization and role, scoped by its labels. */
export function portalViewer(row: PortalSessionAuth): Viewer {
  return {
    orgId: row.orgId,
    orgName: row.orgName,
    plan: row.plan,
    role: row.role,
    apiKeyId: row.id,
    apiKeyName: row.displayName ? `portal session "${row.displayName}"` : 'portal session',
    portal: { sessionId: row.id, labels: row.labels, displayName: row.displayName, accentColor: row.accentColor, expiresAt: row.expiresAt },
  };
}

/**
 * The portal-session credential: `Authorization: Bearer whps_...` (HTTP and graphql-ws). Like API
 * keys, verified sessions are cached briefly, and ending is immediate: revocation
 * (`webhooks_portal_sessions_revoked`, per organization, from any process) and expiry (a timer in
 * each process that has seen the session) drop it and tell `onRevoked` listeners, which close its
 * WebSockets.
 */
export function createPortalAuthenticator(deps: { sql: Sql; log: Logger }) {
  const repo = createPortalSessionsRepo(deps.sql);
  const cache = new Map<string, { viewer: Viewer; expiresAtMs: number }>();
  /** Sessions this process has authenticated, by organization, with their expiry timers. */
  const seen = new Map<string, Map<string, NodeJS.Timeout>>();
  const listeners = new Set<(sessionId: string) => void>();

  function end(orgId: string, sessionId: string): void {
    for (const [hash, entry] of cache) if (entry.viewer.apiKeyId === sessionId) cache.delete(hash);
    const sessions = seen.get(orgId);
    const timer = sessions?.get(sessionId);
    if (timer) clearTimeout(timer);
    sessions?.delete(sessionId);
    if (sessions?.size === 0) seen.delete(orgId);
    for (const listener of listeners) listener(sessionId);
  }

  function revokeOrg(orgId: string): void {
    for (const sessionId of [...(seen.get(orgId)?.keys() ?? [])]) end(orgId, sessionId);
  }

  function track(viewer: Viewer): void {
    const portal = viewer.portal!;
    let sessions = seen.get(viewer.orgId);
    if (!sessions) seen.set(viewer.orgId, (sessions = new Map()));
    if (sessions.has(portal.sessionId)) return;
    // Sessions live at most a day, well inside setTimeout's range.
    const timer = setTimeout(() => end(viewer.orgId, portal.sessionId), Math.max(0, portal.expiresAt.getTime() - Date.now()));
    timer.unref();
    sessions.set(portal.sessionId, timer);
  }

  async function authenticate(token: string): Promise<Viewer> {
    const hash = hashApiKey(token);
    const now = Date.now();
    const hit = cache.get(hash);
    if (hit && hit.expiresAtMs > now) return hit.viewer;
    const row = await repo.findBySessionHash(hash);
    if (!row) throw new DomainError('UNAUTHENTICATED', 'Unknown portal session: open the portal from a fresh link.');
    if (row.revokedAt) {
      cache.delete(hash);
      throw new DomainError('UNAUTHENTICATED', 'This portal session was revoked; open the portal again from the platform.');
    }
    if (row.expiresAt.getTime() <= now) {
      cache.delete(hash);
      throw new DomainError('UNAUTHENTICATED', `This portal session expired at ${row.expiresAt.toISOString()}; open the portal again from the platform.`);
    }
    const viewer = portalViewer(row);
    if (cache.size >= CACHE_MAX) cache.delete(cache.keys().next().value!);
    cache.set(hash, { viewer, expiresAtMs: Math.min(now + CACHE_TTL_MS, row.expiresAt.getTime()) });
    track(viewer);
    return viewer;
  }

  return {
    authenticate,
    /** Ends every session of the organization known to this process (the revoking process calls it at once). */
    revokeOrg,
    onRevoked(listener: (sessionId: string) => void): () => void {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    /** Listens for revocations by any process; after a gap, catches up on the organizations revoked meanwhile. */
    async start(): Promise<() => Promise<void>> {
      let caughtUpAt = new Date();
      const catchUp = async () => {
        const { at, orgIds } = await repo.orgsRevokedSince(caughtUpAt);
        caughtUpAt = at;
        for (const orgId of orgIds) revokeOrg(orgId);
      };
      const listener = createListener({
        sql: deps.sql,
        log: deps.log,
        name: 'portal-auth',
        channels: { [CHANNELS.portalSessionsRevoked]: (orgId) => revokeOrg(orgId) },
        onGap: () => {
          catchUp().catch((err) => deps.log.warn({ err: (err as Error).message }, 'could not catch up on portal session revocations'));
        },
      });
      await listener.start();
      return async () => {
        for (const sessions of seen.values()) for (const timer of sessions.values()) clearTimeout(timer);
        seen.clear();
        await listener.stop();
      };
    },
  };
}
export type PortalAuthenticator = ReturnType<typeof createPortalAuthenticator>;
