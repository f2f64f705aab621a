import { LRUCache } from 'lru-cache';
import type { Sql } from 'postgres';
import { DomainError } from '../domain/errors.js';
import { CHANNELS } from '../db/notifications.js';
import { createListener } from '../db/listener.js';
import type { Logger } from '../logger.js';
import type { ApiKeyRole } from '../domain/roles.js';
import { findApiKeyByHash } from '../db/repos/apiKeys.js';
import type { Organization } from '../db/schema.js';
import { bearerToken, hashApiKey } from './apiKeyTokens.js';
import { createFailureLimiter } from './failureLimiter.js';
import { createApiKeyTouches } from './apiKeyTouches.js';

/** Who is calling: resolved once per request (or per WebSocket connection). */
export interface Viewer {
  orgId: string;
  orgName: string;
  plan: Organization['plan'];
  role: ApiKeyRole;
  apiKeyId: string;
  apiKeyName: string;
  /** Set when the caller is an embedded portal session (services/portalAuth.ts), not an API key. */
  portal?: PortalScope;
}

/** What a portal session may see, and how the console presents itself to it. */
export interface PortalScope {
  sessionId: string;
  /** Null: every endpoint; otherwise only endpoints carrying one of these labels. */
  labels: string[] | null;
  displayName: string | null;
  accentColor: string | null;
  expiresAt: Date;
}

/**
 * How long a verified key is trusted without asking the database again. Revocation and plan
 * changes reach every process by NOTIFY (and a catch-up after a listener gap), so the TTL only
 * bounds how stale a key's names can be. It is minutes, not seconds: a platform publishing for
 * 10,000 organizations, each with its own key, calls each about every 20 s at 500 calls/s, and at
 * 30 s most calls looked their key up again (a round trip beside the publish).
 */
const CACHE_TTL_MS = 300_000;
/** Keys cached per process, at most (~0.5 KB each); past it the least recently used goes. */
const CACHE_MAX = 50_000;

/**
 * Resolves `Authorization` headers to a Viewer or an UNAUTHENTICATED DomainError. Verified keys
 * are cached for 5 minutes: every GraphQL request authenticates, and a database round trip per
 * request was the largest part of a small publish. Revocation is still immediate: the revoking
 * process drops the key at once and NOTIFYs `webhooks_api_key_revoked`, on which every process
 * drops it too. A notification lost while the listener was away is caught up on (see start).
 */
export function createAuthenticator(deps: {
  sql: Sql;
  log: Logger;
  onTouchError?: (err: unknown) => void;
  /** Failed authentications per client address per minute before RATE_LIMITED (default 30). */
  failuresPerMinute?: number;
  /** Verified keys cached at most (default 50,000; tests use a few). */
  cacheMax?: number;
}) {
  const failures = createFailureLimiter({ perWindow: deps.failuresPerMinute ?? 30, windowMs: 60_000 });
  // last_used_at is informative: written once a minute per key, many keys per statement.
  const touches = createApiKeyTouches({ sql: deps.sql, onError: deps.onTouchError });
  // Least recently used out first: a busy key stays cached however many one-off keys pass through.
  const cache = new LRUCache<string, Viewer>({ max: deps.cacheMax ?? CACHE_MAX, ttl: CACHE_TTL_MS });

  const revocationListeners = new Set<(apiKeyId: string) => void>();

  /** Drops every cached key whose Viewer matches (collected first: no deletes while iterating). */
  function forgetWhere(matches: (viewer: Viewer) => boolean): void {
    const hashes: string[] = [];
    for (const [hash, viewer] of cache.entries()) if (matches(viewer)) hashes.push(hash);
    for (const hash of hashes) cache.delete(hash);
  }

  function forgetKey(apiKeyId: string): void {
    forgetWhere((viewer) => viewer.apiKeyId === apiKeyId);
    for (const listener of revocationListeners) listener(apiKeyId);
  }

  /** Drops the cached keys of an organization whose plan changed (they carry the old plan). */
  function forgetOrganization(orgId: string): void {
    forgetWhere((viewer) => viewer.orgId === orgId);
  }

  /**
   * The Viewer of `authorization`. With a `clientAddress`, failures are counted per address and
   * an address past the limit gets RATE_LIMITED for every key, known or not, without a lookup:
   * guessing keys costs the service nothing, and the answer says nothing about the key.
   */
  async function authenticate(authorization: string | null | undefined, from?: { clientAddress: string | null }): Promise<Viewer> {
    const address = from?.clientAddress ?? null;
    if (address !== null && failures.isBlocked(address)) {
      throw new DomainError('RATE_LIMITED', `Too many failed authentications from this address; try again in ${Math.ceil(failures.retryAfterMs(address) / 1000)} s.`);
    }
    try {
      return await verify(authorization);
    } catch (err) {
      if (address !== null && err instanceof DomainError && err.code === 'UNAUTHENTICATED') failures.recordFailure(address);
      throw err;
    }
  }

  async function verify(authorization: string | null | undefined): Promise<Viewer> {
    const token = bearerToken(authorization);
    if (!token) {
      throw new DomainError('UNAUTHENTICATED', 'Missing API key: send the header "Authorization: Bearer whk_...".');
    }
    if (!token.startsWith('whk_')) {
      throw new DomainError('UNAUTHENTICATED', 'Malformed API key: keys start with "whk_".');
    }
    const hash = hashApiKey(token);
    const now = Date.now();
    const hit = cache.get(hash);
    if (hit) {
      // A cached key is still a use: last_used_at stays true to the minute (a map lookup here).
      touches.touch(hit.apiKeyId, now);
      return hit;
    }
    const found = await findApiKeyByHash(deps.sql, hash);
    if (!found) {
      throw new DomainError('UNAUTHENTICATED', 'Unknown API key: check that it was copied whole and not deleted.');
    }
    if (found.key.revokedAt) {
      cache.delete(hash);
      throw new DomainError(
        'UNAUTHENTICATED',
        `This API key was revoked on ${found.key.revokedAt.toISOString()}; ask an admin for a new one.`,
      );
    }
    touches.touch(found.key.id, now);
    const viewer: Viewer = {
      orgId: found.org.id,
      orgName: found.org.name,
      plan: found.org.plan,
      role: found.key.role,
      apiKeyId: found.key.id,
      apiKeyName: found.key.name,
    };
    cache.set(hash, viewer);
    return viewer;
  }

  return Object.assign(authenticate, {
    /**
     * Listens for revocations made by any process. After a gap in listening, every key revoked
     * since the last catch-up (a minute of margin: revoked_at is the revoking transaction's
     * start) is forgotten again, so open WebSockets of a key revoked meanwhile close too.
     */
    async start(): Promise<() => Promise<void>> {
      let caughtUpAt: Date | null = null;
      const catchUp = async () => {
        const [row] = await deps.sql<{ at: Date; ids: string[] }[]>`
          SELECT now() AS at,
                 ARRAY(SELECT id FROM api_keys WHERE revoked_at >= ${caughtUpAt ?? new Date(0)}::timestamptz - interval '1 minute') AS ids`;
        caughtUpAt = row!.at;
        for (const id of row!.ids) forgetKey(id);
      };
      const listener = createListener({
        sql: deps.sql,
        log: deps.log,
        name: 'auth',
        channels: {
          [CHANNELS.apiKeyRevoked]: (apiKeyId) => forgetKey(apiKeyId),
          [CHANNELS.organizationChanged]: (orgId) => forgetOrganization(orgId),
        },
        onGap: () => {
          catchUp().catch((err) => deps.log.warn({ err: (err as Error).message }, 'could not catch up on API key revocations'));
        },
      });
      await listener.start();
      // Only the starting point: nothing is open or cached yet.
      caughtUpAt = (await deps.sql<{ at: Date }[]>`SELECT now() AS at`)[0]!.at;
      return async () => {
        await listener.stop();
        await touches.flush();
      };
    },
    /** Drops a key from this process's cache (the revoking process calls it before answering). */
    forgetKey,
    forgetOrganization,
    /** Writes the key uses not yet recorded (shutdown, tests). */
    flushKeyUses: () => touches.flush(),
    /** Seconds until `clientAddress` may authenticate again (0: it may now); a counter check, nothing else. */
    blockedForSeconds(clientAddress: string | null): number {
      return clientAddress !== null && failures.isBlocked(clientAddress) ? Math.ceil(failures.retryAfterMs(clientAddress) / 1000) : 0;
    },
    /**
     * Calls `listener` with the id of every key revoked from now on, by this process or another
     * (what holds a key open beyond one request, like a WebSocket, must let it go). Returns the
     * function that stops listening.
     */
    onRevoked(listener: (apiKeyId: string) => void): () => void {
      revocationListeners.add(listener);
      return () => revocationListeners.delete(listener);
    },
  });
}
export type Authenticate = ReturnType<typeof createAuthenticator>;
