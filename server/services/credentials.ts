import type { Authenticate } from './auth.js';
import { bearerToken } from './apiKeyTokens.js';
import { PORTAL_SESSION_PREFIX, type PortalAuthenticator } from './portalAuth.js';

/**
 * Every credential kind behind one `authenticate(authorization)`: portal session tokens
 * (`whps_...`) go to the portal authenticator, everything else to the API-key authenticator
 * (which explains what a key looks like). `onRevoked` hears both kinds' endings.
 */
export function combineCredentials(apiKeys: Authenticate, portal: PortalAuthenticator) {
  const authenticate = (authorization: string | null | undefined) => {
    const token = bearerToken(authorization);
    return token?.startsWith(PORTAL_SESSION_PREFIX) ? portal.authenticate(token) : apiKeys(authorization);
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
