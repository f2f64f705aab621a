import { randomBytes } from 'node:crypto';
import type { DestinationStream } from 'pino';
import { loadConfig, type Config } from '../../server/config.js';
import { createLogger } from '../../server/logger.js';
import { startService, type RunningService } from '../../server/service.js';
import { createTestDatabase, type TestDatabase } from './database.js';
import { graphqlClient, type GraphQLClient } from './graphql.js';

export interface TestService extends RunningService {
  testDatabase: TestDatabase;
  config: Config;
  /** WEBHOOKS_MASTER_KEY (base64) of this service: other processes on its database need it. */
  masterKey: string;
  /** Admin key of the `default` organization created at first start. */
  adminKey: string;
  orgId: string;
  /** A GraphQL client authenticated with `apiKey` (the admin key by default). */
  client(apiKey?: string | null): GraphQLClient;
  /** Stops the service and drops its database. */
  close(): Promise<void>;
}

/** Environment every test service runs with: loopback receivers allowed, plain HTTP allowed. */
export const TEST_ENV = {
  WEBHOOKS_ALLOWED_CIDRS: '127.0.0.0/8,::1/128',
  WEBHOOKS_ALLOW_HTTP: 'true',
  LOG_LEVEL: 'silent',
};

/**
 * Starts the whole service in this process against its own fresh database, on a random port.
 * `env` overrides TEST_ENV (e.g. `WEBHOOKS_ROLES: 'api'`, or an empty allowlist).
 */
export async function startTestService(
  env: Record<string, string> = {},
  options: { database?: TestDatabase; /** Where log lines go (set LOG_LEVEL too): tests that read the log. */ logDestination?: DestinationStream } = {},
): Promise<TestService> {
  const testDatabase = options.database ?? (await createTestDatabase());
  const masterKey = env.WEBHOOKS_MASTER_KEY ?? randomBytes(32).toString('base64');
  const config = loadConfig({
    ...TEST_ENV,
    DATABASE_URL: testDatabase.url,
    WEBHOOKS_MASTER_KEY: masterKey,
    PORT: '1',
    HOST: '127.0.0.1',
    WEBHOOKS_DB_POOL_SIZE: '6',
    ...env,
  });
  // Port 0 (any free port) is not a valid PORT value for users, so it is set after parsing.
  config.port = 0;
  const log = createLogger(config.logLevel, options.logDestination);
  const service = await startService(config, log);
  if (!service.bootstrapKey) throw new Error('test database was not empty');
  const { apiKey, orgId } = service.bootstrapKey;
  return {
    ...service,
    testDatabase,
    config,
    masterKey,
    adminKey: apiKey,
    orgId,
    client: (key = apiKey) => graphqlClient(`${service.url}/graphql`, key),
    async close() {
      await service.stop();
      if (!options.database) await testDatabase.drop();
    },
  };
}
