import { DomainError } from '../domain/errors.js';
import type { Viewer } from '../services/auth.js';
import type { Services } from '../services/index.js';
import type { Loaders } from './loaders.js';

/** What every resolver receives: the caller, and the services it may call. */
export interface GraphQLContext {
  requestId: string;
  viewer: Viewer | null;
  /** Set when credentials were sent but rejected (forged, revoked): answered for every field. */
  authError: DomainError | null;
  services: Services;
  loaders: Loaders;
  requireViewer(): Viewer;
}

/** Builds a request context from an authentication outcome. */
export function createContext(options: {
  requestId: string;
  viewer: Viewer | null;
  authError: DomainError | null;
  services: Services;
  loaders: Loaders;
}): GraphQLContext {
  return {
    ...options,
    requireViewer() {
      if (options.viewer) return options.viewer;
      throw options.authError ?? new DomainError('UNAUTHENTICATED', 'Missing API key: send the header "Authorization: Bearer whk_...".');
    },
  };
}
