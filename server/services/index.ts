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

export interface ServiceDeps {
  config: Config;
  database: Database;
  secretBox: SecretBox;
  engine: Engine;
  log: Logger;
}

/** Everything GraphQL resolvers and HTTP handlers call; built once per process. */
export function createServices(deps: ServiceDeps) {
  const { database, engine, log } = deps;
  const authenticate = createAuthenticator({
    sql: database.sql,
    log,
    onTouchError: (err) => log.warn({ err }, 'could not record API key use'),
  });
  return {
    config: deps.config,
    engine,
    authenticate,
    organizations: createOrganizationService({ database, publisher: engine.publisher }),
    apiKeys: createApiKeyService({ database, publisher: engine.publisher, onRevoked: authenticate.forgetKey }),
    eventTypes: createEventTypeService({ database }),
    endpoints: createEndpointService({ database, config: deps.config, secretBox: deps.secretBox, engine, log }),
    signingKeys: createSigningKeyService({ database, secretBox: deps.secretBox, engine }),
    deliveries: createDeliveryService({
      database,
      engine,
      retentionDays: deps.config.retentionDays,
      historyRetentionDays: deps.config.historyRetentionDays,
    }),
  };
}
export type Services = ReturnType<typeof createServices>;
