import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import postgres from 'postgres';
import type { TestProject } from 'vitest/node';
import PgBoss from 'pg-boss';
import { connectDatabase, runMigrations, startEmbeddedPostgres } from '../../server/db/client.js';
import { createDeliveryJobs } from '../../server/db/repos/deliveryJobs.js';
import { createEventTypesRepo } from '../../server/db/repos/eventTypes.js';
import { newId } from '../../server/crypto/random.js';
import { ensureServerBuild } from '../../scripts/buildServer.mjs';

declare module 'vitest' {
  export interface ProvidedContext {
    /** A URL of the server's maintenance database, to create and drop test databases. */
    adminDatabaseUrl: string;
    /** A migrated database to clone with CREATE DATABASE ... TEMPLATE. */
    templateDatabase: string;
  }
}

/**
 * Prepares Postgres once per run: the server from DATABASE_URL, or an embedded one when it is
 * unset, plus a migrated template database that every test file clones into its own database.
 */
export default async function setup(project: TestProject) {
  // Tests that spawn the service run what `npm start` runs (dist/): rebuilt here when a source
  // changed since the last build, so they never test stale code.
  ensureServerBuild();
  let adminUrl = process.env.DATABASE_URL;
  let stopEmbedded: (() => Promise<void>) | null = null;
  if (!adminUrl) {
    // TEST_EMBEDDED_PG_DIR/PORT: for a run inside a run (test/integration/testCommand.test.ts),
    // which needs a server of its own to start and stop.
    const embedded = await startEmbeddedPostgres({
      dataDir: path.resolve(process.env.TEST_EMBEDDED_PG_DIR ?? '.data/test'),
      port: Number(process.env.TEST_EMBEDDED_PG_PORT ?? 54330),
    });
    adminUrl = embedded.url;
    stopEmbedded = embedded.stop;
  }

  const fingerprint = createHash('sha256');
  for (const file of readdirSync('drizzle').filter((f) => f.endsWith('.sql')).sort()) {
    fingerprint.update(readFileSync(path.join('drizzle', file)));
  }
  fingerprint.update(readFileSync('server/db/repos/deliveryJobs.ts'));
  fingerprint.update(readFileSync('server/db/queues.ts'));
  fingerprint.update(readFileSync('server/domain/eventCatalog.ts'));
  fingerprint.update(JSON.parse(readFileSync('node_modules/pg-boss/package.json', 'utf8')).version);
  const template = `wh_template_${fingerprint.digest('hex').slice(0, 12)}`;

  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  try {
    await admin`SELECT pg_advisory_lock(7164021, 99)`;
    const [exists] = await admin`SELECT 1 FROM pg_database WHERE datname = ${template}`;
    if (!exists) {
      const building = `${template}_building_${process.pid}`;
      await admin.unsafe(`CREATE DATABASE "${building}"`);
      const url = withDatabase(adminUrl, building);
      const database = connectDatabase({ url, poolSize: 2 });
      await runMigrations(database);
      const boss = new PgBoss({ connectionString: url, max: 2, supervise: false, schedule: false });
      await boss.start();
      await boss.stop({ graceful: false, wait: true, close: true });
      await createDeliveryJobs(database.sql).ensureLayout();
      await createEventTypesRepo(database.db).seedBuiltIns(() => newId('eventType'));
      await database.close();
      await admin.unsafe(`ALTER DATABASE "${building}" RENAME TO "${template}"`);
    }
    // Databases left behind by killed runs: older than six hours (runs take minutes; other runs
    // may be going on against the same server, so younger ones are left alone).
    const cutoff = Math.floor(Date.now() / 1000) - 6 * 3600;
    const stale = await admin<{ datname: string }[]>`SELECT datname FROM pg_database WHERE datname LIKE 'wh\\_t\\_%'`;
    for (const { datname } of stale) {
      const created = Number(/^wh_t_(\d+)_/.exec(datname)?.[1] ?? 0);
      if (created < cutoff) await admin.unsafe(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`).catch(() => {});
    }
    await admin`SELECT pg_advisory_unlock(7164021, 99)`;
  } finally {
    await admin.end();
  }

  project.provide('adminDatabaseUrl', adminUrl);
  project.provide('templateDatabase', template);

  return async () => {
    await stopEmbedded?.();
  };
}

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}
