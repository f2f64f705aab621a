import type { Authenticate } from './auth.js';
import { DomainError } from '../domain/errors.js';
import { bearerToken } from './apiKeyTokens.js';
import { PORTAL_SESSION_PREFIX, type PortalAuthenticator } from './portalAuth.js';

/**
 * Every credential kind behind one `authenticate(authorization)`: portal session tokens
 * (`whps_...`) go to the portal authenticator, everything else to the API-key authenticator
 * (which explains what a key looks like). `onRevoked` hears both kinds' endings.
 */
export function combineCredentials(apiKeys: Authenticate, portal: PortalAuthenticator) {
  const authenticate = async (authorization: string | null | undefined, from?: { clientAddress: string | null }) => {
    const token = bearerToken(authorization);
    if (!token?.startsWith(PORTAL_SESSION_PREFIX)) return apiKeys(authorization, from);
    // An address refused for failed API keys is refused for session tokens too.
    const wait = apiKeys.blockedForSeconds(from?.clientAddress ?? null);
    if (wait > 0) throw new DomainError('RATE_LIMITED', `Too many failed authentications from this address; try again in ${wait} s.`);
    return portal.authenticate(token);
  };
  return Object.assign(authenticate, {
    async start(): Promise<() => Promise<void>> {
      const stopKeys = await apiKeys.start();
      const stopPortal = await portal.start();
      return async () => {
        await stopPortal();
        await stopKeys();
      };
    },
    forgetKey: apiKeys.forgetKey,
    forgetOrganization: apiKeys.forgetOrganization,
    blockedForSeconds: apiKeys.blockedForSeconds,
    onRevoked(listener: (credentialId: string) => void): () => void {
      const a = apiKeys.onRevoked(listener);
      const b = portal.onRevoked(listener);
      return () => {
        a();
        b();
      };
    },
    portal,
  });
}
export type Credentials = ReturnType<typeof combineCredentials>;
