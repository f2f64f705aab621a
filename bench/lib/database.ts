/**
 * A fresh database per bench run, created on (and dropped from) the server of DATABASE_URL.
 * Only `bench_*` databases are ever created or dropped; the name carries its creation time so a
 * later run can drop what a killed run left behind (older than six hours) without touching a run
 * still going.
 */
import { randomBytes } from 'node:crypto';
import { openPostgres } from '../../server/db/client.js';

import { existsSync } from 'node:fs';

/**
 * Where the bench creates its database when DATABASE_URL is unset: the local server through its
 * Unix socket when there is one (the same server as 127.0.0.1:5432, with less CPU per query for
 * both sides, which is how a service on the database's machine connects), else loopback TCP.
 */
export const DEFAULT_ADMIN_URL = existsSync('/var/run/postgresql/.s.PGSQL.5432')
  ? 'postgres://postgres@localhost/postgres?host=/var/run/postgresql'
  : 'postgres://postgres@127.0.0.1:5432/postgres';

export interface BenchDatabase {
  name: string;
  url: string;
  adminUrl: string;
  drop(): Promise<void>;
}

export function withDatabase(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

export async function createBenchDatabase(adminUrl: string): Promise<BenchDatabase> {
  const name = `bench_${Math.floor(Date.now() / 1000)}_${randomBytes(4).toString('hex')}`;
  const admin = openPostgres(adminUrl, { max: 1, onnotice: () => {} });
  try {
    const cutoff = Math.floor(Date.now() / 1000) - 6 * 3600;
    const stale = await admin<{ datname: string }[]>`SELECT datname FROM pg_database WHERE datname LIKE 'bench\\_%'`;
    for (const { datname } of stale) {
      const created = Number(/^bench_(\d+)_[0-9a-f]{8}$/.exec(datname)?.[1] ?? Infinity);
      if (created < cutoff) await admin.unsafe(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`).catch(() => {});
    }
    await admin.unsafe(`CREATE DATABASE "${name}"`);
    // A debugging aid: every statement of the run, with its duration, in the server's log.
    if (process.env.BENCH_LOG_STATEMENTS === '1') await admin.unsafe(`ALTER DATABASE "${name}" SET log_min_duration_statement = 0`);
    if (process.env.BENCH_AUTO_EXPLAIN) {
      await admin.unsafe(`ALTER DATABASE "${name}" SET session_preload_libraries = 'auto_explain'`);
      await admin.unsafe(`ALTER DATABASE "${name}" SET auto_explain.log_min_duration = '${process.env.BENCH_AUTO_EXPLAIN}'`);
      // A profile of every statement: BENCH_AUTO_EXPLAIN=0 BENCH_AUTO_EXPLAIN_SAMPLE=0.01 logs 1% of
      // them with actual rows and buffers (bench/tools/explainSummary.ts adds them up by statement).
      const sample = Number(process.env.BENCH_AUTO_EXPLAIN_SAMPLE);
      if (sample > 0 && sample <= 1) {
        for (const setting of [`sample_rate = ${sample}`, 'log_analyze = on', 'log_buffers = on', 'log_timing = off', 'log_nested_statements = on']) {
          await admin.unsafe(`ALTER DATABASE "${name}" SET auto_explain.${setting}`);
        }
      }
    }
  } finally {
    await admin.end();
  }
  return {
    name,
    url: withDatabase(adminUrl, name),
    adminUrl,
    async drop() {
      const a = openPostgres(adminUrl, { max: 1, onnotice: () => {} });
      try {
        await a.unsafe(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      } finally {
        await a.end();
      }
    },
  };
}
