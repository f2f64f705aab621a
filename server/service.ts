import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import PgBoss from 'pg-boss';
import type { Config } from './config.js';
import type { Logger } from './logger.js';
import { connectDatabase, runMigrations, startEmbeddedPostgres, type Database, type EmbeddedPostgres } from './db/client.js';
import { createEventTypesRepo } from './db/repos/eventTypes.js';
import { createSecretBox } from './crypto/secretBox.js';
import { newId } from './crypto/random.js';
import { createEngine, type Engine } from './engine/index.js';
import { createServices, type Services } from './services/index.js';
import { buildSchema } from './graphql/schema.js';
import { buildApp, type App } from './app.js';
import { createMetricsRegistry } from './metrics.js';
import { parseCidrList } from './domain/addressGuard.js';

export interface RunningService {
  port: number;
  url: string;
  database: Database;
  engine: Engine;
  services: Services;
  boss: PgBoss;
  app: App;
  /** The admin key of the `default` org when this start created it (printed once by main). */
  bootstrapKey: { orgId: string; apiKey: string } | null;
  stop(): Promise<void>;
}

const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Loads the embedded-mode master key from the data directory, generating it on first use. */
function embeddedMasterKey(dataDir: string): Buffer {
  const file = path.resolve(dataDir, 'master.key');
  if (existsSync(file)) return Buffer.from(readFileSync(file, 'utf8').trim(), 'base64');
  mkdirSync(path.dirname(file), { recursive: true });
  const key = randomBytes(32);
  writeFileSync(file, key.toString('base64') + '\n', { mode: 0o600 });
  return key;
}

/**
 * Starts one process of the service: database (embedded when no DATABASE_URL), migrations,
 * pg-boss, engine, the roles asked for, and the HTTP surface. `stop()` undoes it in reverse.
 */
export async function startService(config: Config, log: Logger): Promise<RunningService> {
  let embedded: EmbeddedPostgres | null = null;
  let url = config.databaseUrl;
  if (!url) {
    mkdirSync(config.dataDir, { recursive: true });
    embedded = await startEmbeddedPostgres({
      dataDir: config.dataDir,
      port: config.embeddedPostgresPort,
      onLog: (line) => log.debug({ postgres: line.trim() }, 'embedded postgres'),
    });
    url = embedded.url;
    log.info({ dataDir: path.resolve(config.dataDir, 'pg'), port: config.embeddedPostgresPort }, 'embedded Postgres started');
  }
  const masterKey = config.masterKey ?? embeddedMasterKey(config.dataDir);
  const secretBox = createSecretBox(masterKey);

  const roles = [...config.roles].sort().join(',');
  const database = connectDatabase({ url, poolSize: config.dbPoolSize, applicationName: `org-webhooks:${roles}` });
  await runMigrations(database);

  const worker = config.roles.has('worker');
  const boss = new PgBoss({
    connectionString: url,
    max: 3,
    application_name: `org-webhooks:pg-boss:${roles}`,
    // Lease expiry and archiving run where deliveries run; an api-only process just writes jobs.
    supervise: worker,
    schedule: worker,
    maintenanceIntervalSeconds: 30,
    archiveCompletedAfterSeconds: 3600,
  });
  boss.on('error', (err) => log.error({ err }, 'pg-boss error'));
  await boss.start();

  const cidrs = parseCidrList(config.allowedCidrs);
  if (!cidrs.ok) throw new Error(`WEBHOOKS_ALLOWED_CIDRS: ${cidrs.error}`);
  const engine = createEngine({ database, secretBox, log, allowedCidrs: cidrs.cidrs });
  await engine.jobQueue.ensureIndexes();
  await createEventTypesRepo(database.db).seedBuiltIns(() => newId('eventType'));

  const services = createServices({ config, database, secretBox, engine, log });
  const created = await services.organizations.bootstrapDefault();
  const bootstrapKey = created ? { orgId: created.org.id, apiKey: created.apiKey } : null;

  if (worker) await engine.startWorker();

  const metrics = createMetricsRegistry();
  const app = buildApp({
    roles: config.roles,
    schema: buildSchema(),
    services,
    metrics,
    log,
    consoleDir: path.join(projectRoot, 'client', 'dist'),
    readiness: async () => {
      const checks: Record<string, string> = {};
      try {
        await database.sql`SELECT 1`.execute();
        checks.database = 'ok';
      } catch (err) {
        checks.database = `unreachable: ${(err as Error).message}`;
      }
      const running = engine.worker();
      if (running) checks.worker = running.ownership.healthy() ? 'ok' : 'not holding its endpoint slots (database connection lost?)';
      return { ready: Object.values(checks).every((c) => c === 'ok'), checks };
    },
  });
  const port = await app.start(config.port, config.host);
  log.info({ port, roles }, 'listening');

  return {
    port,
    url: `http://127.0.0.1:${port}`,
    database,
    engine,
    services,
    boss,
    app,
    bootstrapKey,
    async stop() {
      await app.stop();
      await engine.stop();
      await boss.stop({ graceful: false, wait: true, close: true }).catch(() => {});
      await database.close();
      await embedded?.stop();
    },
  };
}
