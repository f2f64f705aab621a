import type { TransactionSql, Sql } from 'postgres';
import type { Database } from '../db/client.js';
import type { Logger } from '../logger.js';
import type { SecretBox } from '../crypto/secretBox.js';
import type { Cidr } from '../domain/addressGuard.js';
import { CHANNELS, createWakeSender, notifyIds, notifyJson, type EndpointChanged } from '../db/notifications.js';
import { createJobQueue } from './jobQueue.js';
import { createPublisher } from './publish.js';
import { createHttpSender } from './httpSender.js';
import { createRuntimeLoader } from './endpointRuntime.js';
import { createRecorder } from './recorder.js';
import { createWorker, type EngineObserver, type Worker } from './worker.js';
import { createRecovery } from './recovery.js';
import { createTestSender } from './testSender.js';
import { USER_AGENT } from './dispatcher.js';
import { purgePayloads } from './retention.js';
import { createHistoryMaintenance } from './history.js';
import { createPendingHorizon } from './pendingHorizon.js';
import { MAINTENANCE_QUEUES } from './jobs.js';
import type PgBoss from 'pg-boss';

export interface EngineDeps {
  database: Database;
  boss: PgBoss;
  retentionDays: number;
  historyRetentionDays: number;
  secretBox: SecretBox;
  log: Logger;
  allowedCidrs: Cidr[];
  observer?: EngineObserver;
  workerOptions?: Parameters<typeof createWorker>[0]['options'];
}

/**
 * The delivery engine: publishing, the queue, recovery, test sends and (on the worker role) the
 * dispatch loop. It never imports the web layer; GraphQL, the CLI and tests call into it.
 */
export function createEngine(deps: EngineDeps) {
  const { database, log } = deps;
  const jobQueue = createJobQueue(database.sql);
  const wakeSender = createWakeSender(database.signalSql, (err) => log.warn({ err: err.message }, 'could not wake the workers after a publish; their sweep will'));
  const publisher = createPublisher({ database, jobQueue, wake: wakeSender });
  const sender = createHttpSender({ allowedCidrs: deps.allowedCidrs, userAgent: USER_AGENT });
  const loadRuntimes = createRuntimeLoader({ sql: database.sql, secretBox: deps.secretBox });
  const pendingHorizon = createPendingHorizon(database.sql);
  const history = createHistoryMaintenance({ sql: database.sql, probeSql: () => database.workerSql, log, historyRetentionDays: deps.historyRetentionDays });
  const recovery = createRecovery({ sql: database.sql, jobQueue, onRevive: (tx, createdFromMs) => pendingHorizon.lower(tx, createdFromMs) });
  const publishSystemEvent = (orgId: string, type: string, data: Record<string, unknown>) => publisher.publish(orgId, [{ type, data }]);
  let worker: Worker | null = null;

  return {
    database,
    jobQueue,
    publisher,
    publishSystemEvent,
    sendTestEvent: createTestSender({ sql: database.sql, loadRuntimes, sender }),
    retryDelivery: recovery.retryDelivery,
    replayDeliveries: recovery.replayDeliveries,
    /** Tells workers (in any process) that an endpoint's settings, keys or subscriptions changed. */
    notifyEndpointChanged: (sql: Sql | TransactionSql, change: EndpointChanged) => notifyJson(sql, CHANNELS.endpointChanged, [change]),
    /** Wakes the workers owning these endpoints: new due jobs are waiting. */
    wake: (sql: Sql | TransactionSql, endpointIds: Iterable<string>) => notifyIds(sql, CHANNELS.wake, endpointIds),

    purgePayloads: (nowMs?: number) => purgePayloads(database.sql, deps.retentionDays, nowMs),
    /** History partitions and retention (engine/history.ts), and where pending deliveries start. */
    history,
    pendingHorizon,

    /** Starts delivering (the worker role) and the scheduled maintenance. */
    async startWorker(): Promise<Worker> {
      const purge = MAINTENANCE_QUEUES.purgePayloads;
      await deps.boss.createQueue(purge.name, { name: purge.name, policy: 'singleton', retryLimit: 3 });
      await deps.boss.schedule(purge.name, purge.cron);
      // A few runs an hour: pg-boss's own work() loop is fine here (unlike for deliveries).
      await deps.boss.work(purge.name, async () => {
        const purged = await purgePayloads(database.sql, deps.retentionDays);
        if (purged.events || purged.attempts) log.info(purged, 'purged payloads past the retention period');
        // Queues of endpoints whose deletion could not drop them at the time.
        for (const endpointId of await jobQueue.orphanedQueues()) await jobQueue.dropEndpointQueue(endpointId);
      });
      const historyQueue = MAINTENANCE_QUEUES.history;
      await deps.boss.createQueue(historyQueue.name, { name: historyQueue.name, policy: 'singleton', retryLimit: 3 });
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
      const workerQueue = createJobQueue(database.workerSql);
      const recorder = createRecorder({ sql: database.workerSql, jobQueue: workerQueue, log, pendingHorizon });
      worker = createWorker({
        sql: database.workerSql,
        url: database.url,
        jobQueue: workerQueue,
        recorder,
        sender,
        loadRuntimes,
        log,
        publishSystemEvent,
        pendingHorizon,
        observer: deps.observer,
        options: deps.workerOptions,
      });
      await worker.start();
      return worker;
    },
    worker: () => worker,
    async stop(): Promise<void> {
      await wakeSender.settled();
      await worker?.stop();
      await sender.close();
    },
  };
}
export type Engine = ReturnType<typeof createEngine>;
