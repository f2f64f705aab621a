import type { Sql } from 'postgres';
import type { Logger } from '../logger.js';
import {
  DAY_MS,
  DROP_LAG_DAYS,
  HISTORY_TABLES,
  planPartitions,
  retentionHorizonMs,
  utcDayStart,
  type HistoryTable,
} from '../domain/historyPartitions.js';
import { createHistoryPartitionsRepo } from '../db/repos/historyPartitions.js';
import { createHistoryStateRepo } from '../db/repos/historyState.js';

/** Tries of one partition change that timed out waiting for its locks, within one run. */
const LOCK_TRIES = 3;
/** Drops run deliveries first: the rows they carry over decide what attempts and events keep. */
const DROP_ORDER: HistoryTable[] = ['deliveries', 'delivery_attempts', 'events'];

export interface HistoryRunSummary {
  created: string[];
  dropped: string[];
  /** Rows carried over into the DEFAULT partitions (pending deliveries, their attempts and events). */
  carried: number;
  /** Rows removed from the DEFAULT partitions (finished carried-over deliveries and what hung on them). */
  cleaned: number;
  idempotencyKeys: number;
  /** Lock timeouts: the change is tried again by the next run. */
  postponed: string[];
  pendingFromMs: number | null;
  /** Milliseconds spent per step (create, drop <table>, keys, clean, horizon), for logs and the bench. */
  phaseMs: Record<string, number>;
}

/**
 * History maintenance (docs/operations.md, "History"): day partitions ahead of time, retention by
 * dropping whole partitions past WEBHOOKS_HISTORY_RETENTION_DAYS, and the pending horizon. Safe
 * to run from several processes at once (every change takes the same advisory lock and checks
 * the catalog again under it) and idempotent: a run after days of downtime catches up.
 */
export function createHistoryMaintenance(deps: {
  sql: Sql;
  /** A pool whose sessions run with enable_seqscan off (Database.workerSql): the pending probes. */
  probeSql: () => Sql;
  log: Logger;
  historyRetentionDays: number;
}) {
  const { sql, log, historyRetentionDays } = deps;
  const partitions = createHistoryPartitionsRepo(sql);
  const state = createHistoryStateRepo(sql);

  async function withLockRetry<T>(what: string, fn: () => Promise<T>, postponed: string[]): Promise<T | null> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn();
      } catch (err) {
        if ((err as { code?: string }).code !== '55P03') throw err;
        if (attempt === LOCK_TRIES) {
          postponed.push(what);
          log.warn({ what }, 'history maintenance: table busy, postponed to the next run');
          return null;
        }
        await new Promise((r) => setTimeout(r, 250 * attempt));
      }
    }
  }

  /** Creates the missing day partitions of every history table (today through PARTITIONS_AHEAD_DAYS). */
  async function ensurePartitions(nowMs = Date.now(), summary = emptySummary()): Promise<HistoryRunSummary> {
    const t0 = performance.now();
    for (const table of HISTORY_TABLES) {
      const { partitions: existing } = await partitions.list(table);
      for (const range of planPartitions({ table, nowMs, existing, retentionDays: historyRetentionDays }).create) {
        const result = await withLockRetry(`create ${range.name}`, () => partitions.create(table, range), summary.postponed);
        if (!result?.created) continue;
        summary.created.push(range.name);
        if (result.moved) log.info({ partition: range.name, rows: result.moved }, 'history: rows moved out of the DEFAULT partition');
      }
    }
    summary.phaseMs.create = performance.now() - t0;
    return summary;
  }

  /** Drops the partitions past the horizon (carrying pending rows over), then tidies up after them. */
  async function dropExpired(nowMs = Date.now(), summary = emptySummary()): Promise<HistoryRunSummary> {
    // Tables a previous run detached but did not get to remove (stopped in between).
    const leftovers = await timed(summary, 'remove leftovers', () => partitions.removeRetired());
    if (leftovers.length) log.info({ tables: leftovers }, 'history: removed partitions detached by an earlier run');
    for (const table of DROP_ORDER) {
      const { partitions: existing } = await partitions.list(table);
      for (const p of planPartitions({ table, nowMs, existing, retentionDays: historyRetentionDays }).drop) {
        // Keys first: between the two, publishing with such a key makes a new event, never a
        // duplicate answer pointing at nothing.
        if (table === 'events') summary.idempotencyKeys += await timed(summary, 'keys', () => partitions.purgeIdempotencyKeys(p));
        const result = await timed(summary, `drop ${table}`, () => withLockRetry(`drop ${p.name}`, () => partitions.drop(table, p), summary.postponed));
        if (!result?.dropped) continue;
        // The first transaction (detach and carry-over: the table locked), then the files' removal.
        summary.phaseMs[`locked ${table}`] = (summary.phaseMs[`locked ${table}`] ?? 0) + result.lockedMs;
        summary.phaseMs[`files ${table}`] = (summary.phaseMs[`files ${table}`] ?? 0) + result.removeMs;
        summary.dropped.push(p.name);
        summary.carried += result.carried;
      }
    }
    const horizonMs = retentionHorizonMs(nowMs, historyRetentionDays);
    const cleaned = await timed(summary, 'clean', () =>
      withLockRetry('clean DEFAULT partitions', () => partitions.cleanDefault(horizonMs, horizonMs - DROP_LAG_DAYS.events * DAY_MS), summary.postponed),
    );
    if (cleaned) summary.cleaned += cleaned.deliveries + cleaned.attempts + cleaned.events;
    return summary;
  }

  /** Recomputes where pending deliveries start (see PendingHorizon). */
  async function refreshPendingHorizon(nowMs = Date.now()): Promise<number> {
    const seen = await state.read();
    const fromMs = await partitions.oldestPendingMs(deps.probeSql(), utcDayStart(nowMs));
    await state.setPendingFrom(fromMs, seen.version);
    return fromMs;
  }

  return {
    ensurePartitions,
    dropExpired,
    refreshPendingHorizon,
    /** One full run: create ahead, drop past the horizon, recompute the pending horizon. */
    async run(nowMs = Date.now()): Promise<HistoryRunSummary> {
      const summary = await ensurePartitions(nowMs);
      await dropExpired(nowMs, summary);
      summary.pendingFromMs = await timed(summary, 'horizon', () => refreshPendingHorizon(nowMs));
      return summary;
    },
    partitions,
  };
}
export type HistoryMaintenance = ReturnType<typeof createHistoryMaintenance>;

function emptySummary(): HistoryRunSummary {
  return { created: [], dropped: [], carried: 0, cleaned: 0, idempotencyKeys: 0, postponed: [], pendingFromMs: null, phaseMs: {} };
}

async function timed<T>(summary: HistoryRunSummary, phase: string, fn: () => Promise<T>): Promise<T> {
  const t0 = performance.now();
  try {
    return await fn();
  } finally {
    summary.phaseMs[phase] = (summary.phaseMs[phase] ?? 0) + performance.now() - t0;
  }
}
