import { DomainError } from '../domain/errors.js';
import type { Viewer } from '../services/auth.js';
import type { PlatformPrincipal } from '../services/platform.js';
import type { Services } from '../services/index.js';
import { createLoaders, type Loaders } from './loaders.js';
import type { LivePubSub } from './liveTopics.js';

/** What every resolver receives: the caller, and the services it may call. */
export interface GraphQLContext {
  requestId: string;
  viewer: Viewer | null;
  /** The platform operator (WEBHOOKS_PLATFORM_TOKEN): provisioning only, no organization's data. */
  platform: PlatformPrincipal | null;
  /** Set when credentials were sent but rejected (forged, revoked): answered for every field. */
  authError: DomainError | null;
  services: Services;
  loaders: Loaders;
  /** Live topics for subscriptions; null where the api role does not run. */
  live: LivePubSub | null;
  /** scheme://host[:port] the HTTP request was addressed to (links when WEBHOOKS_PUBLIC_URL is unset). */
  requestOrigin?: string | null;
  /** The HTTP request's W3C `traceparent` header (publishing continues that trace); null on WebSockets. */
  traceparent: string | null;
  requireViewer(): Viewer;
  requirePlatform(): PlatformPrincipal;
}

/** Builds a request context from an authentication outcome. */
export function createContext(options: {
  requestId: string;
  viewer: Viewer | null;
  platform?: PlatformPrincipal | null;
  authError: DomainError | null;
  services: Services;
  loaders: Loaders;
  live?: LivePubSub | null;
  requestOrigin?: string | null;
  traceparent?: string | null;
}): GraphQLContext {
  const platform = options.platform ?? null;
  return {
    ...options,
    platform,
    live: options.live ?? null,
    traceparent: options.traceparent ?? null,
    requireViewer() {
      if (options.viewer) return options.viewer;
      if (platform) {
        throw new DomainError(
          'FORBIDDEN',
          "The platform operator credential manages organizations (createOrganization, setOrganizationPlan, organizations); it reads no organization's data. Use one of the organization's API keys.",
        );
      }
      throw options.authError ?? new DomainError('UNAUTHENTICATED', 'Missing API key: send the header "Authorization: Bearer whk_...".');
    },
    requirePlatform() {
      if (platform) return platform;
      if (options.viewer) {
        throw new DomainError('FORBIDDEN', 'Only the platform operator credential (WEBHOOKS_PLATFORM_TOKEN) may manage organizations; organization API keys never can.');
      }
      throw options.authError ?? new DomainError('UNAUTHENTICATED', 'Missing credentials: send "Authorization: Bearer <platform token>".');
    },
  };
}

/**
 * A subscription executes every event it emits with the one context of its operation, so its
 * DataLoaders would serve rows cached by an earlier event (a delivery still PENDING after it
 * succeeded). Subscription resolvers call this first: each event starts with empty loaders.
 */
export function renewLoaders(ctx: GraphQLContext): Loaders {
  ctx.loaders = createLoaders(ctx.services, ctx.viewer);
  return ctx.loaders;
}
