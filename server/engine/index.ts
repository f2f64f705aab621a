import type { TransactionSql, Sql } from 'postgres';
import type { Database } from '../db/client.js';
import type { Logger } from '../logger.js';
import type { SecretBox } from '../crypto/secretBox.js';
import type { Cidr } from '../domain/cidrList.js';
import { CHANNELS, createWakeSender, notifyIds, notifyJson, type EndpointChanged } from '../db/notifications.js';
import { createDeliveryJobs } from '../db/repos/deliveryJobs.js';
import { createWorkerReads } from '../db/repos/workerReads.js';
import { createPublisher } from './publish.js';
import { createEndpointFilters } from './filters/endpointFilters.js';
import { createTransformPool } from './transform/pool.js';
import { createHttpSender } from './httpSender.js';
import { createRuntimeLoader } from './endpointRuntime.js';
import { createRecorder } from './recorder.js';
import { createWorker, type EngineObserver, type Worker, type WorkerOptions } from './worker/index.js';
import { createSystemEvents } from './systemEvents.js';
import { upgradeLegacyQueues } from './queueUpgrade.js';
import { createRecovery } from './recovery.js';
import { createTestSender } from './testSender.js';
import { createProber } from './probe.js';
import { USER_AGENT } from './dispatcher.js';
import { purgePayloads } from './retention.js';
import { MAINTENANCE_QUEUES } from '../db/queues.js';
import { createDeliveryLagSource } from './deliveryLag.js';
import { CONTEXT_ONLY, type Tracing } from './tracing.js';
import { createIdempotencyKeysRepo } from '../db/repos/idempotencyKeys.js';
import { IDEMPOTENCY_TTL_MS } from '../domain/idempotency.js';
import { createHistoryMaintenance } from './history.js';
import { createPendingHorizon } from './pendingHorizon.js';
import type PgBoss from 'pg-boss';
import type { ServiceLimits } from '../config.js';

export interface EngineDeps {
  database: Database;
  boss: PgBoss;
  retentionDays: number;
  historyRetentionDays: number;
  secretBox: SecretBox;
  log: Logger;
  allowedCidrs: Cidr[];
  observer?: EngineObserver;
  /** The transformation sandbox (defaults: 200 ms, 32 MiB, 2 threads). */
  transformation?: { timeoutMs: number; memoryMb: number; threads: number };
  /** Trace context and spans (engine/tracing.ts); CONTEXT_ONLY when not exporting. */
  tracing?: Tracing;
  workerOptions?: WorkerOptions;
  /** Hostile-input bounds (config.limits); defaults when absent (tests, bench). */
  limits?: Partial<Pick<ServiceLimits, 'responseMaxHeaderBytes' | 'publishValidationBudgetMs' | 'maxBatchBytes'>>;
}

/**
 * The delivery engine: publishing, the queue, recovery, test sends and (on the worker role) the
 * dispatch loop. It never imports the web layer; GraphQL, the CLI and tests call into it.
 */
export function createEngine(deps: EngineDeps) {
  const { database, log } = deps;
  const jobs = createDeliveryJobs(database.sql);
  const wakeSender = createWakeSender(database.signalSql, (err) => log.warn({ err: err.message }, 'could not wake the workers after a publish; their discovery will'));
  const filters = createEndpointFilters({ sql: database.sql, onFlushError: (err) => log.warn({ err: (err as Error).message }, 'could not record content filter errors; retrying') });
  const tracing = deps.tracing ?? CONTEXT_ONLY;
  const publisher = createPublisher({
    database,
    jobs,
    wake: wakeSender,
    filters,
    tracing,
    validationBudgetMs: deps.limits?.publishValidationBudgetMs,
    maxBatchBytes: deps.limits?.maxBatchBytes,
  });
  const sender = createHttpSender({ allowedCidrs: deps.allowedCidrs, userAgent: USER_AGENT, maxResponseHeaderBytes: deps.limits?.responseMaxHeaderBytes });
  const t = deps.transformation ?? { timeoutMs: 200, memoryMb: 32, threads: 2 };
  // Threads start with the first transformation run: a process with none never pays for them.
  const transforms = createTransformPool({ threads: t.threads, timeoutMs: t.timeoutMs, memoryBytes: t.memoryMb * 1024 * 1024 });
  const loadRuntimes = createRuntimeLoader({ sql: database.sql, secretBox: deps.secretBox, transforms });
  const pendingHorizon = createPendingHorizon(database.sql);
  const history = createHistoryMaintenance({ sql: database.sql, probeSql: () => database.workerSql, log, historyRetentionDays: deps.historyRetentionDays });
  const recovery = createRecovery({ sql: database.sql, jobs, onRevive: (tx, createdFromMs) => pendingHorizon.lower(tx, createdFromMs) });
  const systemEvents = createSystemEvents({ publish: (orgId, inputs) => publisher.publish(orgId, inputs), log });
  const sendTestEvent = createTestSender({ sql: database.sql, loadRuntimes, sender });
  let worker: Worker | null = null;

  return {
    database,
    jobs,
    publisher,
    systemEvents,
    /**
     * Prepares the delivery queue before anything uses it: the shard queues and their index, and
     * the upgrade of a first-version database (per-endpoint queues) with every job kept.
     */
    async prepareQueue(): Promise<void> {
      await jobs.ensureQueues();
      await upgradeLegacyQueues({ sql: database.sql, log });
      await jobs.ensureIndex();
    },
    filters,
    transforms,
    sendTestEvent,
    /** The half-open probe of an open circuit, now; answers the probe's attempt id. */
    probeEndpoint: createProber({ sql: database.sql, jobs, sendTestEvent, log }),
    retryDelivery: recovery.retryDelivery,
    replayDeliveries: recovery.replayDeliveries,
    /** Tells workers (in any process) that an endpoint's settings, keys or subscriptions changed. */
    notifyEndpointChanged: (sql: Sql | TransactionSql, change: EndpointChanged) => notifyJson(sql, CHANNELS.endpointChanged, [change]),
    /** Wakes the workers owning these endpoints: new due jobs are waiting. */
    wake: (sql: Sql | TransactionSql, endpointIds: Iterable<string>) => notifyIds(sql, CHANNELS.wake, endpointIds),

    purgePayloads: (nowMs?: number) => purgePayloads(database.sql, deps.retentionDays, nowMs),
    /** How far behind delivery is (metrics: webhooks_delivery_lag_seconds). */
    deliveryLag: createDeliveryLagSource(jobs),
    /** History partitions and retention (engine/history.ts), and where pending deliveries start. */
    history,
    pendingHorizon,

    /** Starts delivering (the worker role) and the scheduled maintenance (its queues exist: prepareQueue). */
    async startWorker(): Promise<Worker> {
      const purge = MAINTENANCE_QUEUES.purgePayloads;
      await deps.boss.schedule(purge.name, purge.cron);
      // A few runs an hour: pg-boss's own work() loop is fine here (unlike for deliveries).
      await deps.boss.work(purge.name, async () => {
        const purged = await purgePayloads(database.sql, deps.retentionDays);
        if (purged.events || purged.attempts) log.info(purged, 'purged payloads past the retention period');
        // Idempotency-Key responses (sealed, some holding endpoint secrets) live 24 hours: a key
        // past that is already treated as new, this deletes the rows.
        const keys = await createIdempotencyKeysRepo(database.sql).purgeExpired(IDEMPOTENCY_TTL_MS);
        if (keys) log.info({ idempotencyKeys: keys }, 'purged Idempotency-Keys older than 24 hours');
      });
      const historyQueue = MAINTENANCE_QUEUES.history;
      await deps.boss.schedule(historyQueue.name, historyQueue.cron);
      await deps.boss.work(historyQueue.name, async () => {
        const summary = await history.run();
        if (summary.created.length || summary.dropped.length || summary.cleaned || summary.postponed.length) {
          log.info({ ...summary }, 'history maintenance: partitions created and dropped');
        }
      });
      // Where pending deliveries start, now rather than at the next hourly run (until then STRICT
      // checks read every partition: after the migration the horizon is the beginning of time).
      void history.refreshPendingHorizon().catch((err) => log.warn({ err: (err as Error).message }, 'history: pending horizon not computed; next run'));
      // The worker's queue statements and recording run on the worker pool (see Database.workerSql).
      const workerJobs = createDeliveryJobs(database.workerSql);
      await workerJobs.ensureLayout();
      const recorder = createRecorder({ sql: database.workerSql, jobs: workerJobs, log, pendingHorizon });
      worker = createWorker({
        sql: database.workerSql,
        leaseSql: database.leaseSql,
        url: database.url,
        jobs: workerJobs,
        reads: createWorkerReads(database.workerSql, () => pendingHorizon.deliveryBound()),
        recorder,
        sender,
        loadRuntimes,
        systemEvents,
        cleanUpDeleted: async (ids) => {
          await jobs.removeOrphans(ids);
        },
        log,
        observer: deps.observer,
        tracing,
        options: deps.workerOptions,
      });
      await worker.start();
      return worker;
    },
    worker: () => worker,
    async stop(): Promise<void> {
      await wakeSender.settled();
      await filters.stop().catch(() => {});
      await worker?.stop();
      await systemEvents.flush();
      await transforms.stop();
      await sender.close();
      await publisher.close();
    },
  };
}
export type Engine = ReturnType<typeof createEngine>;
