import { DomainError } from '../domain/errors.js';
import type { ApiKeyRole } from '../domain/roles.js';
import type { ApiKeysRepo } from '../db/repos/apiKeys.js';
import type { Organization } from '../db/schema.js';
import { bearerToken, hashApiKey } from './apiKeyTokens.js';

/** Who is calling: resolved once per request (or per WebSocket connection). */
export interface Viewer {
  orgId: string;
  orgName: string;
  plan: Organization['plan'];
  role: ApiKeyRole;
  apiKeyId: string;
  apiKeyName: string;
}

const TOUCH_INTERVAL_MS = 60_000;

/** Resolves `Authorization` headers to a Viewer or an UNAUTHENTICATED DomainError. */
export function createAuthenticator(deps: { apiKeys: ApiKeysRepo; onTouchError?: (err: unknown) => void }) {
  // last_used_at is informative; writing it on every request would add a row update per call.
  const lastTouched = new Map<string, number>();

  return async function authenticate(authorization: string | null | undefined): Promise<Viewer> {
    const token = bearerToken(authorization);
    if (!token) {
      throw new DomainError('UNAUTHENTICATED', 'Missing API key: send the header "Authorization: Bearer whk_...".');
    }
    if (!token.startsWith('whk_')) {
      throw new DomainError('UNAUTHENTICATED', 'Malformed API key: keys start with "whk_".');
    }
    const found = await deps.apiKeys.findByHash(hashApiKey(token));
    if (!found) {
      throw new DomainError('UNAUTHENTICATED', 'Unknown API key: check that it was copied whole and not deleted.');
    }
    if (found.key.revokedAt) {
      throw new DomainError(
        'UNAUTHENTICATED',
        `This API key was revoked on ${found.key.revokedAt.toISOString()}; ask an admin for a new one.`,
      );
    }
    const now = Date.now();
    if ((lastTouched.get(found.key.id) ?? 0) + TOUCH_INTERVAL_MS < now) {
      lastTouched.set(found.key.id, now);
      deps.apiKeys.touchLastUsed(found.key.id).catch((err) => deps.onTouchError?.(err));
    }
    return {
      orgId: found.org.id,
      orgName: found.org.name,
      plan: found.org.plan,
      role: found.key.role,
      apiKeyId: found.key.id,
      apiKeyName: found.key.name,
    };
  };
}
export type Authenticate = ReturnType<typeof createAuthenticator>;
