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
import { sealLegacyEndpointSecrets } from './crypto/upgradeEndpointSecrets.js';
import { newId } from './crypto/random.js';
import { createEngine, type Engine } from './engine/index.js';
import { createServices, type Services } from './services/index.js';
import { buildApp, type App } from './app.js';
import { createMetrics, type Metrics } from './metrics.js';
import { createLivePubSub, type LivePubSub } from './graphql/liveTopics.js';
import { createStatsRepo } from './db/repos/stats.js';
import { parseCidrList } from './domain/cidrList.js';

/** How long /readyz waits for the database before reporting it unreachable. */
const READINESS_DB_TIMEOUT_MS = 1_500;

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
  metrics: Metrics;
  /** Live topics of GraphQL subscriptions; null without the api role. */
  live: LivePubSub | null;
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
      // The process entry (main.ts) stops the service on SIGINT/SIGTERM, the database last.
      stopOnSignals: false,
    });
    url = embedded.url;
    log.info({ dataDir: path.resolve(config.dataDir, 'pg'), port: config.embeddedPostgresPort }, 'embedded Postgres started');
  }
  const masterKey = config.masterKey ?? embeddedMasterKey(config.dataDir);
  const secretBox = createSecretBox(masterKey, config.previousMasterKeys);

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
  const metrics = createMetrics();
  // The OpenTelemetry SDK is imported only when traces are exported: otherwise it costs nothing.
  const otel = config.otel ? await (await import('./otel.js')).startOtelTracing(config.otel, log, roles) : null;
  const engine = createEngine({
    database,
    boss,
    retentionDays: config.retentionDays,
    historyRetentionDays: config.historyRetentionDays,
    secretBox,
    log,
    allowedCidrs: cidrs.cidrs,
    observer: metrics.engineObserver,
    workerOptions: { runtimeCacheMax: config.endpointCacheSize },
    transformation: config.transformation,
    tracing: otel ?? undefined,
    limits: config.limits,
  });
  await engine.prepareQueue();
  // Today's and the next days' history partitions, before anything is written (the DEFAULT
  // partition would take the rows otherwise, e.g. after days of downtime). Every role: the api
  // writes events and deliveries too. Idempotent, and safe with processes starting together.
  await engine.history.ensurePartitions();
  await createEventTypesRepo(database.db).seedBuiltIns(() => newId('eventType'));
  // Endpoints stored before URL queries and header values were sealed (needs the master key).
  const sealed = await sealLegacyEndpointSecrets(database.sql, secretBox);
  if (sealed > 0) log.info({ endpoints: sealed }, 'sealed the URL query strings and custom header values of endpoints stored in clear');

  const services = createServices({ config, database, secretBox, engine, log, liveObserver: metrics.liveObserver });
  const created = await services.organizations.bootstrapDefault();
  const bootstrapKey = created ? { orgId: created.org.id, apiKey: created.apiKey } : null;

  if (worker) await engine.startWorker();
  const stopAuthListener = config.roles.has('api') ? await services.authenticate.start() : null;

  // Every api process LISTENs, so an attempt recorded by a worker anywhere reaches its subscribers.
  const live = config.roles.has('api') ? createLivePubSub({ sql: database.sql, rows: services.liveRows, log, observer: metrics.liveObserver }) : null;
  await live?.start();
  const stats = createStatsRepo(database.sql);
  metrics.setSources({
    queueDepth: () => engine.jobs.depth(),
    deliveryLag: engine.deliveryLag,
    endpointStates: () => stats.endpointStates(),
    history: () => engine.history.partitions.sizes(),
    worker: worker
      ? () => {
          const w = engine.worker();
          return w ? { ownedSlots: w.ownership.ownedSlots().length, inFlight: w.inFlight(), ...w.memory() } : null;
        }
      : undefined,
    live: live ? () => live.stats() : undefined,
  });
  // Loaded only where it is served: a worker-only process never pays for the schema and yoga.
  const graphql = config.roles.has('api')
    ? (await import('./graphql/server.js')).createGraphQLServer({
        schema: (await import('./graphql/schema.js')).buildSchema(),
        services,
        log,
        live,
        onOperation: metrics.graphqlOperation,
        ...(await import('./graphql/limitsFromConfig.js')).graphqlLimitsFromConfig(config),
      })
    : null;
  const app = buildApp({
    graphql,
    services,
    metrics: metrics.registry,
    log,
    consoleDir: path.join(projectRoot, 'client', 'dist'),
    portalFrameAncestors: config.portalFrameAncestors,
    readiness: async () => {
      const checks: Record<string, string> = {};
      // Bounded: while Postgres is down a query waits for a connection (up to the pool's 10 s
      // connect timeout), and a readiness probe must answer within its own timeout.
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          database.sql`SELECT 1`.execute(),
          new Promise((_, reject) => {
            timer = setTimeout(() => reject(new Error(`no answer within ${READINESS_DB_TIMEOUT_MS} ms`)), READINESS_DB_TIMEOUT_MS);
          }),
        ]);
        checks.database = 'ok';
      } catch (err) {
        checks.database = `unreachable: ${(err as Error).message}`;
      } finally {
        clearTimeout(timer);
      }
      const running = engine.worker();
      if (running) {
        checks.worker = !running.ownership.healthy()
          ? 'not holding its endpoint slots (database connection lost?)'
          : !running.listening()
            ? 'not receiving notifications (new jobs and endpoint changes wait for discovery)'
            : 'ok';
      }
      if (live) checks.liveListener = live.stats().listening ? 'ok' : 'not receiving notifications (live subscriptions would miss attempts)';
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
    metrics,
    live,
    async stop() {
      await app.stop();
      await live?.stop();
      await stopAuthListener?.().catch(() => {});
      await engine.stop();
      // After the worker recorded its last attempts, so their spans are exported too.
      await otel?.shutdown().catch((err) => log.warn({ err: (err as Error).message }, 'could not export the last spans'));
      await boss.stop({ graceful: false, wait: true, close: true }).catch(() => {});
      await database.close();
      await embedded?.stop();
    },
  };
}
