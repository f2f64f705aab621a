import type { Config } from '../config.js';
import type { Database } from '../db/client.js';
import type { Logger } from '../logger.js';
import type { SecretBox } from '../crypto/secretBox.js';
import type { Engine } from '../engine/index.js';
import { createAuthenticator } from './auth.js';
import { createApiKeyService } from './apiKeys.js';
import { createOrganizationService } from './organizations.js';
import { createEventTypeService } from './eventTypes.js';
import { createEndpointService } from './endpoints.js';
import { createSigningKeyService } from './signingKeys.js';
import { createDeliveryService } from './deliveries.js';
import { createPlatformService } from './platform.js';
import { createEndpointHealthService } from './endpointHealth.js';
import { createDeliveryExportService } from './deliveryExport.js';
import { createEndpointContentService } from './endpointContent.js';
import { createPortalAuthenticator } from './portalAuth.js';
import { combineCredentials } from './credentials.js';
import { createPortalSessionService } from './portalSessions.js';
import { createEndpointScope } from './endpointScope.js';
import { createIdempotencyService } from './idempotency.js';
import { createConfigurationService } from './configuration.js';
import { createLiveRowsService, type LiveRowsObserver } from './liveRows.js';
import { createReadService } from './reads.js';
import { createDeliveryStatsService } from './deliveryStats.js';

export interface ServiceDeps {
  config: Config;
  database: Database;
  secretBox: SecretBox;
  engine: Engine;
  log: Logger;
  /** Counts the rows live messages load (metrics). */
  liveObserver?: LiveRowsObserver;
}

/** Everything GraphQL resolvers and HTTP handlers call; built once per process. */
export function createServices(deps: ServiceDeps) {
  const { database, engine, log } = deps;
  const apiKeyAuth = createAuthenticator({
    sql: database.sql,
    log,
    onTouchError: (err) => log.warn({ err }, 'could not record API key use'),
    failuresPerMinute: deps.config.limits.authFailuresPerMinute,
  });
  const portalAuth = createPortalAuthenticator({ sql: database.sql, log });
  const authenticate = combineCredentials(apiKeyAuth, portalAuth);
  const scope = createEndpointScope({ sql: database.sql });
  const organizations = createOrganizationService({ database, publisher: engine.publisher });
  const endpoints = createEndpointService({ database, config: deps.config, secretBox: deps.secretBox, engine, log, scope });
  const eventTypes = createEventTypeService({ database });
  const signingKeys = createSigningKeyService({ database, secretBox: deps.secretBox, engine, scope });
  return {
    config: deps.config,
    engine,
    authenticate,
    organizations,
    platform: createPlatformService({
      database,
      organizations,
      token: deps.config.platformToken,
      forgetOrganizationKeys: (orgId) => authenticate.forgetOrganization(orgId),
    }),
    apiKeys: createApiKeyService({ database, publisher: engine.publisher, onRevoked: authenticate.forgetKey }),
    eventTypes,
    endpoints,
    signingKeys,
    configuration: createConfigurationService({ database, secretBox: deps.secretBox, endpoints, eventTypes, signingKeys }),
    deliveries: createDeliveryService({
      database,
      engine,
      eventTypes,
      scope,
      retentionDays: deps.config.retentionDays,
      historyRetentionDays: deps.config.historyRetentionDays,
    }),
    idempotency: createIdempotencyService({ database, secretBox: deps.secretBox, log }),
    endpointHealth: createEndpointHealthService({ database, pendingFrom: () => engine.pendingHorizon.deliveryBound() }),
    deliveryExport: createDeliveryExportService({ database, secretBox: deps.secretBox, historyRetentionDays: deps.config.historyRetentionDays }),
    scope,
    portalSessions: createPortalSessionService({ database, portalAuth, publicUrl: deps.config.publicUrl }),
    endpointContent: createEndpointContentService({ engine }),
    deliveryStats: createDeliveryStatsService({ database, scope }),
    /** Org-scoped batch reads behind the GraphQL loaders. */
    reads: createReadService({ database }),
    /** Rows behind live messages, and the endpoint rows recently read for them. */
    liveRows: createLiveRowsService({ database, observer: deps.liveObserver }),
  };
}
export type Services = ReturnType<typeof createServices>;
